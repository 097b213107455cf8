package io.kflex.verifier;

import io.kflex.isa.Registers;

/**
 * The registers and stack of one call frame. {@code callsite} is the slot of the call that
 * created the frame (-1 for the entry frame), {@code subprogram} the entry slot of the code it
 * runs, {@code callback} whether a helper invokes it (its {@code exit} returns to the helper).
 */
public final class FrameState {
    final Value[] regs;
    final StackState stack;
    final int frameNo;
    final int callsite;
    final int subprogram;
    final boolean callback;

    FrameState(int frameNo, int callsite, int subprogram, boolean callback) {
        this.regs = new Value[Registers.COUNT];
        java.util.Arrays.fill(regs, Value.NOT_INIT);
        this.stack = new StackState();
        this.frameNo = frameNo;
        this.callsite = callsite;
        this.subprogram = subprogram;
        this.callback = callback;
        regs[Registers.FP] = Value.Pointer.stack(frameNo);
    }

    private FrameState(FrameState o) {
        regs = o.regs.clone();
        stack = o.stack.copy();
        frameNo = o.frameNo;
        callsite = o.callsite;
        subprogram = o.subprogram;
        callback = o.callback;
    }

    FrameState copy() { return new FrameState(this); }

    public Value reg(int r) { return regs[r]; }

    public StackState stack() { return stack; }

    public int frameNo() { return frameNo; }

    public int callsite() { return callsite; }

    /** Linux-style rendering of the initialised registers and stack slots. */
    public String render() {
        StringBuilder b = new StringBuilder();
        for (int r = 0; r < Registers.COUNT; r++) {
            if (regs[r] instanceof Value.NotInit) continue;
            if (!b.isEmpty()) b.append(' ');
            b.append('R').append(r).append('=').append(regs[r]);
        }
        b.append(stack.render("fp"));
        return b.toString();
    }
}
