package io.kflex.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.isa.asm.Disassembler;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.Program;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Corpus-driven checks over every committed extension object: each program loads, and the
 * disassembly of its linked code assembles back to exactly the same bytes.
 */
class ObjectCorpusRoundTripTest {

    private static Path objectsDir() {
        return Path.of(System.getProperty("kflex.repo.dir", "."), "extensions", "objects");
    }

    @TestFactory
    Stream<DynamicTest> everyProgramOfEveryObjectRoundTripsThroughTheAssembler() throws Exception {
        Path dir = objectsDir();
        assumeTrue(Files.isDirectory(dir), "no extension objects at " + dir);
        List<Path> objects;
        try (Stream<Path> files = Files.list(dir)) {
            objects = files.filter(p -> p.toString().endsWith(".o")).sorted().toList();
        }
        assertThat(objects).hasSizeGreaterThanOrEqualTo(16);
        List<DynamicTest> tests = new ArrayList<>();
        for (Path object : objects) {
            tests.add(DynamicTest.dynamicTest(object.getFileName().toString(), () -> {
                // Resolve every kfunc to a distinct id so kfunc calls are part of the round trip.
                ExtensionObject loaded = ExtensionObject.open(object, name -> OptionalInt.of(1000 + Math.floorMod(name.hashCode(), 1000)));
                assertThat(loaded.programs()).isNotEmpty();
                for (Program program : loaded.programs()) {
                    Code code = program.code();
                    Code again = Assembler.assemble(Disassembler.disassemble(code));
                    assertThat(again.toBytes()).as(program.name()).isEqualTo(code.toBytes());
                }
            }));
        }
        return tests.stream();
    }

    @org.junit.jupiter.api.Test
    void hashOfMapsInitialValuesAreKeyedNotBoundedByCapacity() throws Exception {
        Path object = objectsDir().resolve("maps_of_maps.bpf.o");
        assumeTrue(Files.isRegularFile(object), "no " + object);
        ExtensionObject loaded = ExtensionObject.open(object, io.kflex.loader.KfuncResolver.NONE);
        // `.values = { [7] = &inner_b }` in a hash of maps with max_entries 4: key 7, as libbpf reads it.
        assertThat(loaded.map("outer_hash").orElseThrow().initialSlots()).containsExactly(java.util.Map.entry(7, "inner_b"));
    }
}
