package io.kflex.cli;

import io.kflex.btf.FuncInfo;
import io.kflex.btf.LineInfo;
import io.kflex.isa.asm.Disassembler;
import io.kflex.loader.LoadException;
import io.kflex.loader.Program;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code kflex disasm OBJ [--program NAME]}: the linked code of each program in LLVM's BPF syntax,
 * with function names and source lines from BTF interleaved.
 */
@Command(name = "disasm", mixinStandardHelpOptions = true,
        description = "Disassembles the programs of an eBPF object file, with source lines.")
final class DisasmCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ProgramSelection.Options target;

    @Option(names = "--json", description = "One JSON object per program on stdout.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Program> programs;
        try {
            // Listing needs no host: every kfunc extern resolves to a placeholder id so that objects
            // written for any host can be shown; the listing prints the call by that id.
            programs = target.open(name -> OptionalInt.of(0)).programs();
        } catch (LoadException e) {
            err.println("kflex: " + e.getMessage());
            return Main.USAGE;
        }
        Disassembler disassembler = Disassembler.of(Disassembler.Radix.HEX);
        for (Program p : programs) {
            String listing = disassembler.listing(p.code(), pc -> annotation(p, pc));
            if (json) {
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("program", p.name());
                entry.put("section", p.section());
                entry.put("type", p.type().name().toLowerCase());
                entry.put("insns", p.code().instructions().size());
                entry.put("listing", listing);
                out.println(Json.object(entry));
            } else {
                out.printf("%s (section %s, type %s, %d instructions):%n", p.name(), p.section(),
                        p.type().name().toLowerCase(), p.code().instructions().size());
                out.print(listing);
                out.println();
            }
        }
        return Main.OK;
    }

    /** The function that starts at {@code pc} and the source line whose record starts there, if any. */
    private static String annotation(Program p, int pc) {
        StringBuilder note = new StringBuilder();
        p.functionAt(pc).filter(f -> f.slot() == pc).map(FuncInfo::name)
                .ifPresent(name -> note.append(name).append(':'));
        // Compilers emit a record per column; print a line once until the source line changes.
        p.lineAt(pc).filter(l -> l.slot() == pc).filter(l -> pc == 0 || !sameLine(l, p.lineAt(pc - 1).orElse(null))).ifPresent(l -> {
            if (!note.isEmpty()) note.append('\n');
            note.append(sourceLine(l));
        });
        return note.isEmpty() ? null : note.toString();
    }

    private static boolean sameLine(LineInfo a, LineInfo b) {
        return b != null && a.line() == b.line() && java.util.Objects.equals(a.file(), b.file());
    }

    private static String sourceLine(LineInfo l) {
        String file = l.file() == null ? "?" : Path.of(l.file()).getFileName().toString();
        String source = l.source() == null ? "" : " " + l.source().strip();
        return file + ":" + l.line() + ":" + source;
    }
}
