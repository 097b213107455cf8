package io.kflex.verifier;

import io.kflex.isa.Code;
import io.kflex.loader.ProgramType;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;

/**
 * A program the verifier accepted, with the facts the engines consume.
 *
 * <ul>
 *   <li>{@code accesses}: per load/store/atomic slot, the region and proven bounds. A heap access
 *       with {@code guardNeeded == false} relies on its base register holding, on every path, a
 *       sanitised heap offset plus a bounded displacement that keeps the access within
 *       {@link Verifier#HEAP_GUARD_BYTES} of the heap. Engines must sanitise exactly where the
 *       analysis assumes it ({@link GuardAnalysis}): a guarded access confines its base register
 *       in place ({@code base &= mask}), and {@code addr_space_cast} to the kernel view yields
 *       {@code value & mask}.</li>
 *   <li>{@code backEdges}: every loop back-edge and whether its loop provably terminates soon
 *       enough to need no cancellation check (see {@link BackEdgeFact}).</li>
 *   <li>{@code cancellationPoints}: the slots of the other back-edges; the engines poll for
 *       cancellation there.</li>
 *   <li>{@code heldAtCancellation}: per cancellation point, the object table — the references
 *       and lock the program may hold there, which the runtime releases when it cancels.</li>
 *   <li>{@code stackDepths}: bytes of stack each subprogram (by entry slot) uses.</li>
 *   <li>{@code callMaps}: per helper call that takes a map argument, the index of the program's
 *       map it names on every path ({@code lddw} map pseudo index), or -1 when it is not one
 *       fixed map of the program (paths disagree, or an inner map of a map of maps). Engines may
 *       bind such a call to its map at load time.</li>
 *   <li>{@code quietPolls}: the {@code may_goto} instructions, and the backward branches that are
 *       no reported back-edge, that need no cancellation poll of their own: every loop around one
 *       is bounded as a counted loop is (see {@link Verifier#MAX_UNPOLLED_ITERATIONS}), so no loop
 *       relies on it as its check. Every other {@code may_goto} and backward branch polls unless
 *       its back-edge is proven ({@code backEdges}).</li>
 * </ul>
 */
public record VerifiedProgram(Code code, ProgramType type, long processedInstructions, Map<Integer, AccessFact> accesses,
                              List<BackEdgeFact> backEdges, SortedSet<Integer> cancellationPoints,
                              Map<Integer, List<HeldResource>> heldAtCancellation,
                              Map<Integer, Integer> stackDepths, String log, Map<Integer, Integer> callMaps,
                              SortedSet<Integer> quietPolls) {

    public VerifiedProgram {
        callMaps = Map.copyOf(callMaps);
        quietPolls = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(quietPolls));
    }

    /** Facts in which every {@code may_goto} and every backward branch that is no proven back-edge polls. */
    public VerifiedProgram(Code code, ProgramType type, long processedInstructions, Map<Integer, AccessFact> accesses,
                           List<BackEdgeFact> backEdges, SortedSet<Integer> cancellationPoints,
                           Map<Integer, List<HeldResource>> heldAtCancellation, Map<Integer, Integer> stackDepths, String log,
                           Map<Integer, Integer> callMaps) {
        this(code, type, processedInstructions, accesses, backEdges, cancellationPoints, heldAtCancellation, stackDepths, log, callMaps,
                new java.util.TreeSet<>());
    }

    /** Facts without call-site map facts (no call is bound to its map). */
    public VerifiedProgram(Code code, ProgramType type, long processedInstructions, Map<Integer, AccessFact> accesses,
                           List<BackEdgeFact> backEdges, SortedSet<Integer> cancellationPoints,
                           Map<Integer, List<HeldResource>> heldAtCancellation, Map<Integer, Integer> stackDepths, String log) {
        this(code, type, processedInstructions, accesses, backEdges, cancellationPoints, heldAtCancellation, stackDepths, log, Map.of());
    }

    /** The index of the program map the helper call at {@code pc} names on every path, or -1. */
    public int constantMapAt(int pc) {
        return callMaps.getOrDefault(pc, -1);
    }

    public long heapAccesses() { return accesses.values().stream().filter(a -> a.region() == MemoryRegion.HEAP).count(); }

    public long guardsNeeded() {
        return accesses.values().stream().filter(a -> a.region() == MemoryRegion.HEAP && a.guardNeeded()).count();
    }

    public long guardsElided() { return heapAccesses() - guardsNeeded(); }

    /** The fact for the access at {@code pc}, or null if it is not a memory access. */
    public AccessFact accessAt(int pc) { return accesses.get(pc); }
}
