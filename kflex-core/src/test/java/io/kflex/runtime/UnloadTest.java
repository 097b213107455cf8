package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.engine.Outcome;
import io.kflex.maps.BpfProgArray;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the UNLOAD policy does to a program (besides its hooks, see CancellationEndToEndTest): it
 * leaves every prog array of its object, so tail calls no longer reach it.
 */
class UnloadTest {

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void anUnloadedProgramLeavesItsProgArraysAndTailCallsFallThrough(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build();
             Extension ext = runtime.open(TestObjects.object("tail_call.bpf.o"))) {
            LoadedProgram dispatch = ext.load("dispatch");
            LoadedProgram drop = ext.programs().get("stage_drop");
            BpfProgArray stages = (BpfProgArray) ext.maps().byName("stages");
            byte[] toSlot0 = new byte[64];
            assertThat(dispatch.testRun(TestRun.once().withData(toSlot0)).outcome()).as("XDP_DROP from stage_drop").isEqualTo(new Outcome.Returned(1));
            assertThat(stages.get(0)).isSameAs(drop.executable());

            ext.unload(drop); // what a cancellation under CancellationPolicy.UNLOAD does

            assertThat(drop.unloaded()).isTrue();
            assertThat(stages.get(0)).isNull();
            assertThat(ext.programs()).doesNotContainKey("stage_drop").containsKey("dispatch");
            // An empty slot: the tail call fails and dispatch carries on to XDP_PASS.
            assertThat(dispatch.testRun(TestRun.once().withData(toSlot0)).outcome()).isEqualTo(new Outcome.Returned(2));
            // stage_chain tail-calls slot 0 as well: it now falls through to its XDP_ABORTED.
            byte[] toSlot3 = new byte[64];
            toSlot3[0] = 3;
            assertThat(dispatch.testRun(TestRun.once().withData(toSlot3)).outcome()).isEqualTo(new Outcome.Returned(0));
        }
    }
}
