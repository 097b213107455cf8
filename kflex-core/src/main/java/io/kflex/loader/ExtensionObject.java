package io.kflex.loader;

import io.kflex.btf.Btf;
import io.kflex.maps.MapSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A loaded eBPF object file: its programs (relocated and linked), its maps in index order (BTF
 * {@code .maps}, legacy {@code maps}, then global data), its heap declaration if it has an arena,
 * its license and its BTF.
 */
public record ExtensionObject(
        String name, List<Program> programs, List<ObjectMap> maps, Optional<HeapDeclaration> heap, String license, Optional<Btf> btf) {

    /** Object files larger than this are refused before being read. */
    public static final long MAX_FILE_SIZE = 256L << 20;

    public ExtensionObject {
        programs = List.copyOf(programs);
        maps = List.copyOf(maps);
    }

    /** Reads and loads the object file at {@code path}. */
    public static ExtensionObject open(Path path, KfuncResolver kfuncs) throws LoadException {
        byte[] bytes;
        try {
            long size = Files.size(path);
            if (size > MAX_FILE_SIZE) throw new LoadException(path + ": " + size + " bytes, larger than the " + MAX_FILE_SIZE + "-byte limit for object files");
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new LoadException("cannot read " + path + ": " + e.getMessage(), e);
        }
        return parse(bytes, String.valueOf(path.getFileName()), kfuncs);
    }

    /**
     * Loads an object from its bytes. Any problem, including one nobody anticipated, is reported as a
     * {@link LoadException} naming the object.
     */
    public static ExtensionObject parse(byte[] bytes, String name, KfuncResolver kfuncs) throws LoadException {
        try {
            return new ObjectLoader(bytes, name, kfuncs).load();
        } catch (LoadException e) {
            throw new LoadException(name + ": " + e.getMessage(), e.getCause());
        } catch (RuntimeException | StackOverflowError e) {
            // A bug of ours, not the file's fault — but a hostile file must still never escape as a crash.
            throw new LoadException(name + ": malformed object (" + e + ")", e);
        }
    }

    /** The program called {@code programName}. */
    public Program program(String programName) throws LoadException {
        for (Program p : programs) {
            if (p.name().equals(programName)) return p;
        }
        throw new LoadException(name + ": no program named '" + programName + "' (available: "
                + (programs.isEmpty() ? "none" : programs.stream().map(Program::name).collect(Collectors.joining(", "))) + ")");
    }

    /** The declarations of the maps in index order, as programs refer to them. */
    public List<MapSpec> mapSpecs() {
        return maps.stream().map(ObjectMap::spec).toList();
    }

    /** The map called {@code mapName}. */
    public Optional<ObjectMap> map(String mapName) {
        return maps.stream().filter(m -> m.name().equals(mapName)).findFirst();
    }

    /** The index of the map called {@code mapName}, as programs refer to it, or -1. */
    public int mapIndex(String mapName) {
        for (int i = 0; i < maps.size(); i++) {
            if (maps.get(i).name().equals(mapName)) return i;
        }
        return -1;
    }
}
