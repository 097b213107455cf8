package io.kflex.verifier;

import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The static structure of a program, checked before any abstract interpretation: subprograms
 * (the entry plus every local call and {@code lddw} FUNC target), intra-subprogram edges, loop
 * back-edges and their natural loops, and the call graph. Rejects jumps that leave their
 * subprogram, falling off the end, unreachable instructions, recursion and call chains deeper
 * than {@link #MAX_CALL_FRAMES}.
 */
public final class ControlFlowGraph {
    /** Linux's MAX_CALL_FRAMES: the entry frame plus seven nested calls. */
    public static final int MAX_CALL_FRAMES = 8;

    /** A retreating edge {@code from -> to} of the depth-first search: {@code to} is a loop head. */
    public record Edge(int from, int to) {}

    private final Code code;
    private final int[] subprogramStarts;
    private final int[] subprogramOf;
    private final BitSet prunePoints = new BitSet();
    private final BitSet blockLeaders = new BitSet();
    private final List<Edge> backEdges = new ArrayList<>();
    private final java.util.Set<Edge> backEdgeSet = new java.util.HashSet<>();
    private final BitSet loopHeads = new BitSet();
    private final Map<Edge, BitSet> loopBodies = new TreeMap<>((a, b) -> a.from != b.from ? Integer.compare(a.from, b.from) : Integer.compare(a.to, b.to));
    private final BitSet irreducibleHeads = new BitSet();
    private final Map<Integer, TreeSet<Integer>> callees = new TreeMap<>();

    private ControlFlowGraph(Code code, int[] starts) {
        this.code = code;
        this.subprogramStarts = starts;
        this.subprogramOf = new int[code.length()];
        for (int i = 0, s = 0; i < code.length(); i++) {
            while (s + 1 < starts.length && starts[s + 1] <= i) s++;
            subprogramOf[i] = s;
        }
    }

    public static ControlFlowGraph build(Code code) throws VerificationException {
        TreeSet<Integer> starts = new TreeSet<>();
        starts.add(0);
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction insn = code.at(pc);
            if (insn instanceof Call c && c.kind() == CallKind.LOCAL) starts.add(code.branchTarget(pc));
            if (insn instanceof LoadImm64 l && l.pseudo() == LoadImm64.FUNC) {
                int target = pc + 1 + l.imm();
                if (!code.isInstructionStart(target)) throw error(pc, Rule.BAD_JUMP, "function reference to " + target + " is not an instruction");
                starts.add(target);
            }
        }
        ControlFlowGraph cfg = new ControlFlowGraph(code, starts.stream().mapToInt(Integer::intValue).toArray());
        cfg.checkEdges();
        cfg.explore();
        cfg.checkCallGraph();
        return cfg;
    }

    private static VerificationException error(int pc, Rule rule, String message) {
        return new VerificationException(pc, rule, message, "", "");
    }

    public int subprogramCount() { return subprogramStarts.length; }

    public int subprogramStart(int index) { return subprogramStarts[index]; }

    /** Index of the subprogram containing slot {@code pc}. */
    public int subprogramOf(int pc) { return subprogramOf[pc]; }

    public boolean isSubprogramStart(int pc) { return Arrays.binarySearch(subprogramStarts, pc) >= 0; }

    private int subprogramEnd(int index) {
        return index + 1 < subprogramStarts.length ? subprogramStarts[index + 1] : code.length();
    }

    /** Where states are remembered for pruning: branch targets, fall-throughs of branches, subprogram entries. */
    public boolean isPrunePoint(int pc) { return prunePoints.get(pc); }

    public boolean isLoopHead(int pc) { return loopHeads.get(pc); }

    public boolean isBackEdge(int from, int to) { return loopHeads.get(to) && backEdgeSet.contains(new Edge(from, to)); }

    public List<Edge> backEdges() { return backEdges; }

    /** Slots of the natural loop of a back-edge: the head and everything reaching the tail without passing it. */
    public BitSet loopBody(Edge e) { return loopBodies.get(e); }

    /** Whether the loop at {@code head} has an entry that bypasses the head (its back-edges then prove nothing). */
    public boolean isIrreducible(int head) { return irreducibleHeads.get(head); }

    /** Whether slot {@code pc} starts a basic block. */
    public boolean isBlockLeader(int pc) { return blockLeaders.get(pc); }

    /** Successors of {@code pc} inside its subprogram (a local call continues at the next instruction). */
    public int[] successors(int pc) {
        Instruction insn = code.at(pc);
        int next = pc + insn.slots();
        return switch (insn) {
            case Exit e -> new int[0];
            case Goto g -> new int[] {code.branchTarget(pc)};
            case Jump j -> new int[] {next, code.branchTarget(pc)};
            case MayGoto m -> new int[] {next, code.branchTarget(pc)};
            default -> new int[] {next};
        };
    }

    private void checkEdges() throws VerificationException {
        blockLeaders.set(0);
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction insn = code.at(pc);
            if (insn == null) continue;
            int sub = subprogramOf[pc];
            if (isSubprogramStart(pc)) {
                prunePoints.set(pc);
                blockLeaders.set(pc);
            }
            if (insn instanceof Jump || insn instanceof Goto || insn instanceof MayGoto) {
                int target = code.branchTarget(pc);
                if (subprogramOf[target] != sub) {
                    throw error(pc, Rule.BAD_JUMP, "jump from subprogram at " + subprogramStarts[sub] + " into subprogram at "
                            + subprogramStarts[subprogramOf[target]] + " (target " + target + ")");
                }
                prunePoints.set(target);
                blockLeaders.set(target);
                if (!(insn instanceof Goto) && pc + 1 < code.length()) {
                    prunePoints.set(pc + 1);
                }
            }
            if (insn instanceof Jump || insn instanceof Goto || insn instanceof MayGoto || insn instanceof Exit
                    || insn instanceof Call || insn instanceof CallX) {
                if (pc + insn.slots() < code.length()) blockLeaders.set(pc + insn.slots());
            }
            if ((insn instanceof Call || insn instanceof CallX) && pc + 1 < code.length()) prunePoints.set(pc + 1);
            boolean fallsThrough = !(insn instanceof Exit || insn instanceof Goto);
            if (fallsThrough) {
                int next = pc + insn.slots();
                if (next >= subprogramEnd(sub)) {
                    throw error(pc, Rule.FALL_OFF_END, next >= code.length()
                            ? "execution falls off the end of the program (last instruction is not exit or jump)"
                            : "execution falls through into the subprogram at " + next);
                }
            }
        }
    }

    /** Depth-first search from the entry, following local calls into subprograms: reachability and back-edges. */
    private void explore() throws VerificationException {
        int n = code.length();
        byte[] color = new byte[n]; // 0 white, 1 on stack, 2 done
        BitSet reached = new BitSet(n);
        Deque<int[]> stack = new ArrayDeque<>(); // {pc, next successor index}
        Deque<Integer> entries = new ArrayDeque<>();
        entries.push(0);
        BitSet entered = new BitSet();
        entered.set(0);
        while (!entries.isEmpty()) {
            int entry = entries.pop();
            stack.push(new int[] {entry, 0});
            color[entry] = 1;
            reached.set(entry);
            while (!stack.isEmpty()) {
                int[] top = stack.peek();
                int pc = top[0];
                Instruction insn = code.at(pc);
                int calleeStart = insn instanceof Call c && c.kind() == CallKind.LOCAL ? code.branchTarget(pc)
                        : insn instanceof LoadImm64 l && l.pseudo() == LoadImm64.FUNC ? pc + 1 + l.imm() : -1;
                if (top[1] == 0 && calleeStart >= 0) {
                    callees.computeIfAbsent(subprogramOf[pc], k -> new TreeSet<>()).add(subprogramOf[calleeStart]);
                    if (!entered.get(calleeStart)) {
                        entered.set(calleeStart);
                        entries.push(calleeStart);
                    }
                }
                int[] succ = successors(pc);
                if (top[1] < succ.length) {
                    int s = succ[top[1]++];
                    if (color[s] == 0) {
                        color[s] = 1;
                        reached.set(s);
                        stack.push(new int[] {s, 0});
                    } else if (color[s] == 1) {
                        backEdges.add(new Edge(pc, s));
                        backEdgeSet.add(new Edge(pc, s));
                        loopHeads.set(s);
                    }
                } else {
                    color[pc] = 2;
                    stack.pop();
                }
            }
        }
        for (int pc = 0; pc < n; pc++) {
            if (code.at(pc) != null && !reached.get(pc)) throw error(pc, Rule.UNREACHABLE, "unreachable instruction");
        }
        computeLoops();
    }

    private void computeLoops() {
        for (Edge e : backEdges) {
            BitSet body = new BitSet();
            body.set(e.to);
            Deque<Integer> work = new ArrayDeque<>();
            if (!body.get(e.from)) {
                body.set(e.from);
                work.push(e.from);
            }
            // Predecessors by scanning: programs are small enough, and this runs once per back-edge.
            List<List<Integer>> preds = predecessors();
            while (!work.isEmpty()) {
                int v = work.pop();
                for (int p : preds.get(v)) {
                    if (!body.get(p)) {
                        body.set(p);
                        work.push(p);
                    }
                }
            }
            loopBodies.put(e, body);
            // The head dominates the tail (the loop is reducible) exactly when the tail cannot be
            // reached from the subprogram's entry without passing the head.
            int entry = subprogramStarts[subprogramOf[e.to]];
            if (entry != e.to && body.get(entry)) irreducibleHeads.set(e.to);
        }
    }

    private List<List<Integer>> predecessorCache;

    private List<List<Integer>> predecessors() {
        if (predecessorCache != null) return predecessorCache;
        List<List<Integer>> preds = new ArrayList<>(code.length());
        for (int i = 0; i < code.length(); i++) preds.add(new ArrayList<>(1));
        for (int pc = 0; pc < code.length(); pc++) {
            if (code.at(pc) == null) continue;
            for (int s : successors(pc)) preds.get(s).add(pc);
        }
        predecessorCache = preds;
        return preds;
    }

    private void checkCallGraph() throws VerificationException {
        int count = subprogramStarts.length;
        int[] depth = new int[count]; // longest chain of frames starting at a subprogram, 0 = not computed
        byte[] state = new byte[count];
        for (int s = 0; s < count; s++) frames(s, depth, state, 1);
        if (depth[0] > MAX_CALL_FRAMES) {
            throw error(0, Rule.CALL_DEPTH, "the call stack of " + depth[0] + " frames is too deep (at most " + MAX_CALL_FRAMES + ")");
        }
    }

    private int frames(int sub, int[] depth, byte[] state, int level) throws VerificationException {
        if (state[sub] == 2) return depth[sub];
        if (state[sub] == 1) {
            throw error(subprogramStarts[sub], Rule.RECURSION, "recursive call of the subprogram at " + subprogramStarts[sub]);
        }
        if (level > MAX_CALL_FRAMES) {
            // Stop here rather than recurse along an arbitrarily long chain.
            throw error(subprogramStarts[sub], Rule.CALL_DEPTH, "the call stack of more than " + MAX_CALL_FRAMES + " frames is too deep");
        }
        state[sub] = 1;
        int deepest = 0;
        for (int callee : callees.getOrDefault(sub, new TreeSet<>())) deepest = Math.max(deepest, frames(callee, depth, state, level + 1));
        state[sub] = 2;
        depth[sub] = deepest + 1;
        return depth[sub];
    }

    /** Subprograms called (or passed as callbacks) by subprogram {@code index}. */
    public java.util.Set<Integer> callees(int index) { return callees.getOrDefault(index, new TreeSet<>()); }
}
