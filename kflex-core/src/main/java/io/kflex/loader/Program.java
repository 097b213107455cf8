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
        lineInfo = List.copyOf(lineInfo);
        funcInfo = List.copyOf(funcInfo);
    }

    /**
     * The source line the instruction at {@code pc} belongs to: the last line record at or before
     * it within the same function (compilers emit a record only where the line changes).
     */
    public Optional<LineInfo> lineAt(int pc) {
        int functionStart = 0;
        for (FuncInfo f : funcInfo) {
            if (f.slot() <= pc) functionStart = Math.max(functionStart, f.slot());
        }
        LineInfo best = null;
        for (LineInfo line : lineInfo) {
            if (line.slot() <= pc && line.slot() >= functionStart && (best == null || line.slot() >= best.slot())) best = line;
        }
        return Optional.ofNullable(best);
    }

    /** The function containing {@code pc}, if the object has BTF func info. */
    public Optional<FuncInfo> functionAt(int pc) {
        FuncInfo best = null;
        for (FuncInfo f : funcInfo) {
            if (f.slot() <= pc && (best == null || f.slot() > best.slot())) best = f;
        }
        return Optional.ofNullable(best);
    }
}
