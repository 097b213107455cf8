package io.kflex.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The thread's reused stack: reuse after a run, a fresh one for a nested run, none reused that a helper unmapped. */
class StackReuseTest {

    @Test
    void aThreadReusesItsStackRunAfterRunZeroedToTheRequestedDepth() {
        AddressSpace memory = new AddressSpace();
        Region first;
        try (Stack.Mapped run = Stack.mapInto(memory)) {
            first = run.region();
            first.segment().fill((byte) 7);
        }
        try (Stack.Mapped run = Stack.mapInto(memory, 5)) {
            assertThat(run.region()).isSameAs(first);
            var segment = run.region().segment();
            // 5 bytes round up to one 8-byte word.
            for (int i = 1; i <= 8; i++) assertThat(segment.get(ValueLayout.JAVA_BYTE, RuntimeLimits.STACK_SIZE - i)).isZero();
            assertThat(segment.get(ValueLayout.JAVA_BYTE, RuntimeLimits.STACK_SIZE - 9)).isEqualTo((byte) 7);
        }
        try (Stack.Mapped run = Stack.mapInto(memory)) {
            for (long at = 0; at < RuntimeLimits.STACK_SIZE; at += 8) assertThat(run.region().segment().get(ValueLayout.JAVA_LONG_UNALIGNED, at)).isZero();
        }
    }

    @Test
    void aNestedRunGetsAFreshZeroedStackAndTheOuterOneIsKept() {
        AddressSpace memory = new AddressSpace();
        try (Stack.Mapped outer = Stack.mapInto(memory)) {
            outer.region().segment().fill((byte) 3);
            try (Stack.Mapped inner = Stack.mapInto(memory, 16)) {
                assertThat(inner.region()).isNotSameAs(outer.region());
                assertThat(inner.base()).isNotEqualTo(outer.base());
                assertThat(inner.region().segment().get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).isZero();
            }
            assertThat(memory.regionOf(outer.base())).as("the inner run's close leaves the outer stack mapped").isSameAs(outer.region());
            assertThat(outer.region().segment().get(ValueLayout.JAVA_BYTE, 100)).isEqualTo((byte) 3);
        }
        Region outerAgain;
        try (Stack.Mapped run = Stack.mapInto(memory)) {
            outerAgain = run.region();
        }
        try (Stack.Mapped run = Stack.mapInto(memory)) {
            assertThat(run.region()).as("the thread's own stack is back in use").isSameAs(outerAgain);
        }
    }

    @Test
    void aStackSomeoneElseUnmappedIsNeitherUnmappedAgainNorReused() {
        AddressSpace memory = new AddressSpace();
        Region lost;
        long base;
        try (Stack.Mapped run = Stack.mapInto(memory)) {
            lost = run.region();
            base = run.base();
            memory.unmap(base);                      // a misbehaving helper
            Region other = new Region(Region.Kind.MEMORY, java.lang.foreign.MemorySegment.ofArray(new long[1]), true, "other");
            assertThat(memory.map(other)).isEqualTo(base); // its window now holds something else
        }
        assertThat(memory.regionOf(base)).as("close did not unmap a window that was no longer the stack's").isNotNull();
        try (Stack.Mapped run = Stack.mapInto(memory)) {
            assertThat(run.region()).as("the helper may still hold it").isNotSameAs(lost);
        }
    }

    @Test
    void anAddressSpacesOwnStackStaysMappedBetweenRunsUnlessSomeoneElseUnmappedIt() {
        AddressSpace memory = new AddressSpace();
        memory.runs = 2; // as after two runs through TailCalls: the address space takes a stack over
        Stack.Mapped own;
        try (Stack.Mapped run = Stack.mapInto(memory, 8)) {
            own = run;
            assertThat(memory.ownStackMapped).isSameAs(run);
            run.region().segment().fill((byte) 9);
        }
        assertThat(memory.regionOf(own.base())).as("still mapped between runs").isSameAs(own.region());
        try (Stack.Mapped run = Stack.mapInto(memory, 8)) {
            assertThat(run).isSameAs(own);
            assertThat(run.bytes()[RuntimeLimits.STACK_SIZE - 1]).as("zeroed to the requested depth").isZero();
            assertThat(run.bytes()[RuntimeLimits.STACK_SIZE - 9]).isEqualTo((byte) 9);
            try (Stack.Mapped nested = Stack.mapInto(memory, 8)) {
                assertThat(nested.region()).as("a nested run gets another stack").isNotSameAs(own.region());
            }
            memory.unmap(run.base());               // a misbehaving helper
        }
        assertThat(memory.ownStackMapped).as("dropped: the helper may still hold it").isNull();
        try (Stack.Mapped run = Stack.mapInto(memory, 8)) {
            assertThat(run.region()).isNotSameAs(own.region());
        }
    }
}
