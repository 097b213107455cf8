package io.kflex.verifier;

import static io.kflex.verifier.Verifier.ITER_MAX_STEPS;
import static io.kflex.verifier.Verifier.MAX_UNPOLLED_ITERATIONS;
import static io.kflex.verifier.Verifier.location;
import static io.kflex.verifier.Verifier.stackLocation;

import io.kflex.helpers.HelperPrototypes;
import io.kflex.helpers.HelperPrototypes.ArgType;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.Call;
import io.kflex.isa.Instruction.CallKind;
import io.kflex.isa.Instruction.CallX;
import io.kflex.isa.Instruction.MayGoto;
import io.kflex.isa.Registers;
import io.kflex.verifier.Value.LoopDelta;
import io.kflex.verifier.Value.Scalar;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which loops end on their own, so that their back-edges need no cancellation point. While the
 * {@link Verifier} explores, every back-edge arrival passes its state to {@link #collectWitnesses}:
 * a loop's termination witnesses are the scalars that moved the same way, without wrapping, on
 * every arrival so far, and the values they took bound the loop's iterations per entry. After
 * the search, {@link #backEdgeFacts} turns them into the verdict on every back-edge and
 * {@link #quietPolls} into the {@code may_goto}s that need no poll.
 *
 * <p>Kept apart from the verifier because none of it interprets instructions: it reads the states
 * the interpretation reaches and the control-flow graph, and its verdicts are computed once, after
 * exploration. What a back-edge must not carry (a reference acquired in the loop) and the
 * resources held there stay with the verifier, which reports them.
 */
final class LoopTermination {
    private final Code code;
    private final ControlFlowGraph cfg;
    /** The verifier's callx edges: filled while exploring, read only by the verdicts after it. */
    private final Map<Integer, Set<Integer>> indirectCallees;
    /** Per loop head: termination witnesses holding on every back-edge arrival so far (null = none yet). */
    private final Map<Integer, Set<Witness>> witnesses = new HashMap<>();
    /** Per loop head and witness: the values it took at back-edge arrivals and its smallest step (all arrivals so far). */
    private final Map<Integer, Map<Witness, Span>> witnessSpans = new HashMap<>();
    /** Stack locations ({@link Verifier#stackLocation}) that held a numeric iterator: their witnesses are iterator steps. */
    private final Set<Integer> iteratorLocations = new HashSet<>();

    /**
     * A termination witness of one loop iteration: the scalar at location {@code location} moved
     * by a non-zero amount in direction {@code up} without wrapping in the given domain.
     */
    private record Witness(int location, boolean up, boolean unsigned) {}

    /**
     * What a witness's back-edge arrivals span: values in {@code [lo, hi]} and steps of at least
     * {@code minStep}, all compared unsigned (signed values are biased by 2^63 first). One entry
     * into the loop sees strictly monotonic values there, so it makes at most
     * {@code (hi - lo) / minStep + 1} iterations.
     */
    private record Span(long lo, long hi, long minStep) {
        static Span of(Scalar s, Witness w, long amount) {
            ScalarValue b = s.bounds();
            long step = amount < 0 ? -amount : amount; // Long.MIN_VALUE stays 2^63 unsigned
            return w.unsigned() ? new Span(b.umin(), b.umax(), step) : new Span(b.smin() ^ Long.MIN_VALUE, b.smax() ^ Long.MIN_VALUE, step);
        }

        Span union(Span o) {
            return new Span(unsignedMin(lo, o.lo), Long.compareUnsigned(hi, o.hi) >= 0 ? hi : o.hi, unsignedMin(minStep, o.minStep));
        }

        /** Iterations per entry into the loop, saturating at {@code Long.MAX_VALUE}. */
        long iterations() {
            long quotient = Long.divideUnsigned(hi - lo, minStep);
            return quotient < 0 || quotient == Long.MAX_VALUE ? Long.MAX_VALUE : quotient + 1;
        }

        private static long unsignedMin(long a, long b) { return Long.compareUnsigned(a, b) <= 0 ? a : b; }
    }

    LoopTermination(Code code, ControlFlowGraph cfg, Map<Integer, Set<Integer>> indirectCallees) {
        this.code = code;
        this.cfg = cfg;
        this.indirectCallees = indirectCallees;
    }

    /** One iteration of the loop at {@code head} ends in {@code st}: keep the witnesses that hold on it too. */
    void collectWitnesses(int head, VerifierState st) {
        Set<Witness> found = new HashSet<>();
        Map<Witness, Span> spans = witnessSpans.computeIfAbsent(head, k -> new HashMap<>());
        for (FrameState f : st.frames) {
            for (int r = 0; r < Registers.COUNT; r++) {
                if (f.regs[r] instanceof Scalar s) addWitnesses(found, spans, s, head, location(f.frameNo, r));
            }
            for (int slot = 0; slot < StackState.SIZE / StackState.SLOT; slot++) {
                if (f.stack.spill(slot * StackState.SLOT) instanceof Scalar s) addWitnesses(found, spans, s, head, stackLocation(f.frameNo, slot));
            }
        }
        witnesses.merge(head, found, (a, b) -> {
            Set<Witness> both = new HashSet<>(a);
            both.retainAll(b);
            return both;
        });
    }

    private static void addWitnesses(Set<Witness> out, Map<Witness, Span> spans, Scalar s, int head, int location) {
        LoopDelta d = s.deltas().get(head);
        if (d == null || d.origin() != location || d.amount() == 0) return;
        for (boolean unsigned : new boolean[] {true, false}) {
            if (!(unsigned ? d.noUnsignedWrap() : d.noSignedWrap())) continue;
            Witness w = new Witness(location, d.amount() > 0, unsigned);
            out.add(w);
            spans.merge(w, Span.of(s, w, d.amount()), Span::union);
        }
    }

    /** Stack location {@code location} holds a numeric iterator: a witness there is its step count. */
    void addIteratorLocation(int location) {
        iteratorLocations.add(location);
    }

    /**
     * The verdict on every back-edge. It needs no cancellation point when every path around the
     * loop passes a {@code may_goto} (itself a check), when it is never taken, or when a witness
     * bounds the loop's iterations per entry by {@link Verifier#MAX_UNPOLLED_ITERATIONS} — and the
     * counted loops around it (in this subprogram, and in callers around the call) leave the
     * product of their bounds under it too: bounds multiply, and a run between two checks must
     * stay short, not merely finite.
     */
    List<BackEdgeFact> backEdgeFacts() {
        List<ControlFlowGraph.Edge> edges = cfg.backEdges();
        BackEdgeFact[] facts = new BackEdgeFact[edges.size()];
        Map<Integer, Long> counted = new TreeMap<>(); // head -> iterations per entry, for heads proven by a witness
        for (int i = 0; i < facts.length; i++) {
            ControlFlowGraph.Edge e = edges.get(i);
            Set<Witness> w = witnesses.get(e.to());
            if (everyIterationPassesMayGoto(e)) facts[i] = new BackEdgeFact(e.from(), e.to(), true, "may_goto on every path around the loop");
            else if (cfg.isIrreducible(e.to())) facts[i] = new BackEdgeFact(e.from(), e.to(), false, "irreducible loop");
            else if (w == null) facts[i] = new BackEdgeFact(e.from(), e.to(), true, "back-edge is never taken");
            else if (w.isEmpty()) facts[i] = new BackEdgeFact(e.from(), e.to(), false, "no bounded induction variable");
            else {
                Witness best = tightest(e.to(), w);
                long n = witnessSpans.get(e.to()).get(best).iterations();
                boolean few = n <= MAX_UNPOLLED_ITERATIONS;
                facts[i] = new BackEdgeFact(e.from(), e.to(), few, describe(best) + ", at most " + iterations(n) + " iterations"
                        + (few ? "" : ": too many to run without a cancellation point"));
                if (few) counted.put(e.to(), n);
            }
        }
        Map<Integer, String> tooLong = new HashMap<>();
        long[] memo = new long[cfg.subprogramCount()];
        for (int sub = 0; sub < memo.length; sub++) unpolledIterations(sub, counted, tooLong, memo);
        for (int i = 0; i < facts.length; i++) {
            BackEdgeFact f = facts[i];
            String why = tooLong.get(f.to());
            if (why != null && f.terminating() && counted.containsKey(f.to()) && !everyIterationPassesMayGoto(edges.get(i))) {
                facts[i] = new BackEdgeFact(f.from(), f.to(), false, f.reason() + ", " + why);
            }
        }
        return List.of(facts);
    }

    /**
     * The {@code may_goto} instructions, and the backward branches that are no reported back-edge,
     * that need no cancellation poll: every loop whose body holds one is bounded by a witness, as a
     * counted loop is, the product of their bounds is at most {@link Verifier#MAX_UNPOLLED_ITERATIONS}, and
     * those bodies hold no other loop and no call that could run more code (a local call,
     * {@code callx}, a kfunc or a helper that calls back). Every cycle through such an instruction
     * lies in one of those loops (every cycle holds a back-edge of the search, whose loop body then
     * holds the instruction), so no loop relies on it as its check, and a run between two polls
     * stays short by the same rule as for counted loops. A backward branch shows up here when clang
     * enters a loop in its middle: the search then reports the forward jump to that point as the
     * loop's back-edge, and the backward branch is part of the loop's body. One in no loop at all
     * keeps its poll: it costs nothing there.
     */
    SortedSet<Integer> quietPolls() {
        SortedSet<Integer> quiet = new TreeSet<>();
        List<ControlFlowGraph.Edge> edges = cfg.backEdges();
        List<java.util.BitSet> bodies = new ArrayList<>();
        Set<Integer> reported = new HashSet<>();
        for (ControlFlowGraph.Edge e : edges) {
            bodies.add(cfg.loopBody(e));
            reported.add(e.from());
        }
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction insn = code.at(pc);
            boolean backward = code.isBackwardJump(pc) && !reported.contains(pc);
            if (!(insn instanceof MayGoto) && !backward) continue;
            long product = 1;
            boolean bounded = true, inLoop = false;
            java.util.BitSet around = new java.util.BitSet();
            for (int i = 0; i < edges.size(); i++) {
                ControlFlowGraph.Edge e = edges.get(i);
                java.util.BitSet body = bodies.get(i);
                if (!body.get(pc)) continue;
                inLoop = true;
                around.or(body);
                Set<Witness> w = witnesses.get(e.to());
                if (cfg.isIrreducible(e.to()) || w == null || w.isEmpty()) {
                    bounded = false; // a back-edge never taken is proven too, but then nothing repeats: keep it simple
                    break;
                }
                product = saturatingMultiply(product, witnessSpans.get(e.to()).get(tightest(e.to(), w)).iterations());
            }
            if (!inLoop || !bounded || product > MAX_UNPOLLED_ITERATIONS) continue;
            boolean alone = true;
            for (int i = 0; i < edges.size(); i++) {
                // Another loop inside the bodies around this instruction would repeat within them.
                if (around.get(edges.get(i).from()) && !bodies.get(i).get(pc)) alone = false;
            }
            for (int q = around.nextSetBit(0); alone && q >= 0; q = around.nextSetBit(q + 1)) {
                if (code.at(q) instanceof Call c && (c.kind() != CallKind.HELPER || callsBack(c.imm())) || code.at(q) instanceof CallX) alone = false;
            }
            if (alone) quiet.add(pc);
        }
        return quiet;
    }

    /** Whether helper {@code id} may run program code (a callback) or wait. */
    private static boolean callsBack(int id) {
        return HelperPrototypes.find(id).map(p -> p.args().contains(ArgType.PTR_TO_FUNC)).orElse(true);
    }

    /**
     * The most loop iterations one call of subprogram {@code sub} (with everything it calls) can
     * make without a cancellation check, at least 1. Goes through the subprogram's counted loops
     * from the outside in: a loop whose bound times those of the counted loops around it, times
     * what the calls in its body make, exceeds {@link Verifier#MAX_UNPOLLED_ITERATIONS} is recorded in
     * {@code tooLong} (its back-edges will check) and multiplies nothing further.
     */
    private long unpolledIterations(int sub, Map<Integer, Long> counted, Map<Integer, String> tooLong, long[] memo) {
        if (memo[sub] > 0) return memo[sub];
        memo[sub] = Long.MAX_VALUE; // while in progress: a call cycle (refused before this runs) would count as unbounded
        Map<Integer, java.util.BitSet> bodies = new HashMap<>();
        for (ControlFlowGraph.Edge e : cfg.backEdges()) {
            if (counted.containsKey(e.to()) && cfg.subprogramOf(e.to()) == sub) {
                bodies.computeIfAbsent(e.to(), k -> new java.util.BitSet()).or(cfg.loopBody(e));
            }
        }
        long most = 1;
        Set<Integer> callees = new TreeSet<>(cfg.callees(sub));
        callees.addAll(indirectCallees.getOrDefault(sub, Set.of()));
        for (int callee : callees) most = Math.max(most, unpolledIterations(callee, counted, tooLong, memo));
        List<Integer> outsideIn = new ArrayList<>(bodies.keySet());
        outsideIn.sort(java.util.Comparator.comparingInt((Integer h) -> -bodies.get(h).cardinality()).thenComparing(h -> h));
        List<Integer> kept = new ArrayList<>();
        for (int head : outsideIn) {
            java.util.BitSet body = bodies.get(head);
            long around = 1;
            for (int outer : kept) if (bodies.get(outer).get(head)) around = saturatingMultiply(around, counted.get(outer));
            long inside = 1;
            for (int pc = body.nextSetBit(0); pc >= 0; pc = body.nextSetBit(pc + 1)) {
                Instruction insn = code.at(pc);
                if (insn instanceof Call c && c.kind() == CallKind.LOCAL) {
                    inside = Math.max(inside, unpolledIterations(cfg.subprogramOf(code.branchTarget(pc)), counted, tooLong, memo));
                } else if (insn instanceof CallX) {
                    for (int callee : indirectCallees.getOrDefault(sub, Set.of())) {
                        inside = Math.max(inside, unpolledIterations(callee, counted, tooLong, memo));
                    }
                }
            }
            long total = saturatingMultiply(saturatingMultiply(around, counted.get(head)), inside);
            if (total > MAX_UNPOLLED_ITERATIONS) {
                tooLong.put(head, "which with the loops around it and the calls in it makes up to " + iterations(total)
                        + " iterations: too many to run without a cancellation point");
            } else {
                kept.add(head);
                most = Math.max(most, total);
            }
        }
        memo[sub] = most;
        return most;
    }

    private static long saturatingMultiply(long a, long b) {
        long high = Math.multiplyHigh(a, b), product = a * b;
        return high != 0 || product < 0 ? Long.MAX_VALUE : product;
    }

    private static String iterations(long n) { return n == Long.MAX_VALUE ? "2^63 or more" : Long.toString(n); }

    /** The witness bounding the loop at {@code head} the tightest (an iterator on a tie: its reason reads best). */
    private Witness tightest(int head, Set<Witness> candidates) {
        Map<Witness, Span> spans = witnessSpans.get(head);
        return candidates.stream().min(java.util.Comparator.comparingLong((Witness w) -> spans.get(w).iterations())
                .thenComparing(w -> !iteratorLocations.contains(w.location()))
                .thenComparingInt(Witness::location).thenComparing(Witness::unsigned)).orElseThrow();
    }

    /**
     * Whether every path from the head of {@code e} to its tail passes a {@code may_goto}, so that
     * each traversal of {@code e} follows a {@code may_goto} of the same iteration, which is a
     * cancellation point of its own. A {@code may_goto} merely
     * somewhere in the loop body proves nothing: an inner cycle, or a branch around it, can
     * repeat the back-edge without ever reaching it. Paths around the loop stay inside its body
     * (every node on one reaches the tail without passing the head), so the search does too.
     */
    private boolean everyIterationPassesMayGoto(ControlFlowGraph.Edge e) {
        java.util.BitSet body = cfg.loopBody(e);
        java.util.BitSet seen = new java.util.BitSet();
        Deque<Integer> work = new ArrayDeque<>();
        work.push(e.to());
        seen.set(e.to());
        while (!work.isEmpty()) {
            int pc = work.pop();
            if (code.at(pc) instanceof MayGoto) continue;
            if (pc == e.from()) return false; // reached the tail without a may_goto
            for (int next : cfg.successors(pc)) {
                if (body.get(next) && !seen.get(next)) {
                    seen.set(next);
                    work.push(next);
                }
            }
        }
        return true;
    }

    private String describe(Witness w) {
        int frame = w.location / 1000, rest = w.location % 1000;
        String where = rest >= 100 ? "fp" + ((rest - 100) * 8 - StackState.SIZE) : "R" + rest;
        if (frame > 0) where += " (frame " + frame + ")";
        if (iteratorLocations.contains(w.location)) {
            return "numeric iterator at " + where + " advances every iteration (bpf_iter_num_next returns NULL after at most "
                    + ITER_MAX_STEPS + " steps)";
        }
        return "counted loop: " + where + (w.up ? " increases" : " decreases") + " every iteration without "
                + (w.unsigned ? "unsigned" : "signed") + " wrap-around";
    }
}
