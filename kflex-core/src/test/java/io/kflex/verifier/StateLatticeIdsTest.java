package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.verifier.Value.Scalar;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Scalar ids in state comparison: shared ones must correspond, one carried by a single value constrains nothing. */
class StateLatticeIdsTest {

    private static VerifierState state(Scalar r6, Scalar r7) {
        VerifierState st = new VerifierState();
        FrameState f = new FrameState(0, -1, 0, false);
        f.regs[6] = r6;
        f.regs[7] = r7;
        st.frames.add(f);
        return st;
    }

    private static Scalar scalar(long lo, long hi, int id) { return new Scalar(ScalarValue.unsignedRange(lo, hi), id, Map.of()); }

    @Test
    void anIdCarriedByOneValueConstrainsNothing() {
        VerifierState old = state(scalar(0, 10, 5), scalar(0, 100, 0));
        VerifierState cur = state(scalar(0, 5, 0), scalar(0, 50, 0));
        assertThat(StateLattice.covers(old, cur)).isTrue();
    }

    @Test
    void aSharedIdNeedsLinkedValuesInTheCurrentState() {
        // Old: r6 and r7 are the same value. Current: two unrelated values — not covered, since
        // a comparison on r6 would have bounded r7 on the old path but not on this one.
        VerifierState old = state(scalar(0, 10, 5), scalar(0, 10, 5));
        assertThat(StateLattice.covers(old, state(scalar(0, 5, 0), scalar(0, 5, 0)))).isFalse();
        assertThat(StateLattice.covers(old, state(scalar(0, 5, 9), scalar(0, 5, 9)))).isTrue();
    }
}
