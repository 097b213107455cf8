package io.kflex.loader;

import io.kflex.btf.FuncInfo;
import io.kflex.btf.LineInfo;
import io.kflex.isa.Code;
import java.util.List;
import java.util.Optional;

/**
 * One program of an object, ready for the verifier: its code with every subprogram it calls
 * appended (as libbpf lays them out) and every relocation applied; the indexes of the object's
 * maps it refers to; and, from {@code .BTF.ext}, the source line of instructions and the functions
 * that start at given slots (all slots relative to this program's code).
 */
public record Program(
        String name,
        String section,
        ProgramType type,
        Code code,
        List<Integer> mapIndexes,
        List<LineInfo> lineInfo,
        List<FuncInfo> funcInfo) {

    public Program {
        mapIndexes = List.copyOf(mapIndexes);
        // Sorted by slot so lookups are binary searches (a verifier asks for every instruction).
        lineInfo = lineInfo.stream().sorted(java.util.Comparator.comparingInt(LineInfo::slot)).toList();
        funcInfo = funcInfo.stream().sorted(java.util.Comparator.comparingInt(FuncInfo::slot)).toList();
    }

    /**
     * The source line the instruction at {@code pc} belongs to: the last line record at or before
     * it within the same function (compilers emit a record only where the line changes).
     */
    public Optional<LineInfo> lineAt(int pc) {
        int line = lastAtOrBefore(lineInfo.size(), i -> lineInfo.get(i).slot(), pc);
        if (line < 0) return Optional.empty();
        Optional<FuncInfo> function = functionAt(pc);
        if (function.isPresent() && lineInfo.get(line).slot() < function.get().slot()) return Optional.empty();
        return Optional.of(lineInfo.get(line));
    }

    /** The function containing {@code pc}, if the object has BTF func info. */
    public Optional<FuncInfo> functionAt(int pc) {
        int f = lastAtOrBefore(funcInfo.size(), i -> funcInfo.get(i).slot(), pc);
        return f < 0 ? Optional.empty() : Optional.of(funcInfo.get(f));
    }

    /**
     * Source text by the slot where each line starts ({@code 12 -> "prog.c:40: if (ip + 1 > end)"}),
     * as the verifier quotes it in messages.
     */
    public java.util.NavigableMap<Integer, String> sourceLines() {
        java.util.NavigableMap<Integer, String> lines = new java.util.TreeMap<>();
        for (LineInfo l : lineInfo) {
            String file = l.file() == null ? "?" : java.nio.file.Path.of(l.file()).getFileName().toString();
            lines.put(l.slot(), file + ":" + l.line() + (l.source() == null ? "" : ": " + l.source().strip()));
        }
        return lines;
    }

    /** Index of the last of {@code size} ascending slots that is at most {@code pc}, or -1. */
    private static int lastAtOrBefore(int size, java.util.function.IntUnaryOperator slotOf, int pc) {
        int lo = 0, hi = size - 1, found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (slotOf.applyAsInt(mid) <= pc) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }
}
