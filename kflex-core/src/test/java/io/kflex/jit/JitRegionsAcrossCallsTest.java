package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.helpers.Kfuncs;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeElement;
import java.lang.classfile.MethodModel;
import java.lang.classfile.instruction.ConstantInstruction;
import java.lang.classfile.instruction.FieldInstruction;
import java.lang.classfile.instruction.InvokeInstruction;
import java.lang.classfile.instruction.StoreInstruction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Generated code keeps the regions it resolved (packet, context, stack, map values) across a call
 * to a helper or kfunc that declares it leaves the invocation's regions alone, and forgets them
 * after any other call (which may move or remap them). Checked on the bytecode of real programs:
 * a method forgets its windows by storing -1 into each window local, once in its prologue and
 * once after every call that may move regions.
 */
class JitRegionsAcrossCallsTest {
    /** Window locals a method resets at once: every kind of host region, for loads and for stores. */
    private static final int WINDOWS = 2 * HostRegion.values().length;

    private static ClassModel compiled(String object, String program) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine("jit").budget(Duration.ofSeconds(5)).build();
             Extension ext = runtime.open(TestObjects.object(object))) {
            LoadedProgram loaded = ext.load(program);
            JitExecutable jit = (JitExecutable) loaded.executable();
            assertThat(jit.hostAccesses()).as("the program has direct region accesses").isPositive();
            return ClassFile.of().parse(jit.classBytes());
        }
    }

    /**
     * For each time {@code m} forgets its windows after its prologue, the static field of the
     * helper or kfunc called last before it (null when no such call precedes it).
     * A reset is {@link #WINDOWS} stores of -1 into the window locals the prologue resets first.
     */
    private static List<String> resetsAfterCalls(MethodModel m) {
        List<CodeElement> code = m.code().orElseThrow().elementList();
        Set<Integer> windows = new HashSet<>();
        List<String> after = new ArrayList<>();
        String lastCalled = null, field = null;
        int stores = 0;
        for (int i = 0; i + 1 < code.size(); i++) {
            if (code.get(i) instanceof FieldInstruction f) field = f.name().stringValue();
            if (code.get(i) instanceof InvokeInstruction call && call.name().stringValue().equals("call")) lastCalled = field;
            if (code.get(i) instanceof ConstantInstruction c && Long.valueOf(-1L).equals(c.constantValue())
                    && code.get(i + 1) instanceof StoreInstruction st) {
                if (windows.size() < WINDOWS) {
                    windows.add(st.slot());
                } else if (windows.contains(st.slot()) && ++stores % WINDOWS == 0) {
                    after.add(lastCalled);
                }
            }
        }
        // A method without direct region accesses has no windows to forget.
        assertThat(windows.size()).as("the prologue resets every window, or there are none").isIn(0, WINDOWS);
        return after;
    }

    private static MethodModel method(ClassModel c, String name) {
        return c.methods().stream().filter(m -> m.methodName().stringValue().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void theLockKfuncsOfTheKvStoreKeepTheResolvedRegions() throws Exception {
        // kv_get: a lazy kflex_malloc/kflex_free of the table (cold, and forgetting), then the
        // bucket's kflex_spin_lock, the chain walk and kflex_spin_unlock on every lookup.
        ClassModel kvGet = compiled("kv_store.bpf.o", "kv_get");
        String lock = "kfunc" + Kfuncs.KFLEX_SPIN_LOCK, unlock = "kfunc" + Kfuncs.KFLEX_SPIN_UNLOCK;
        assertThat(kvGet.fields().stream().map(f -> f.fieldName().stringValue())).contains(lock, unlock);
        List<String> after = resetsAfterCalls(method(kvGet, "f0"));
        assertThat(after).as("the allocator's calls forget the regions")
                .containsExactlyInAnyOrder("kfunc" + Kfuncs.KFLEX_MALLOC, "kfunc" + Kfuncs.KFLEX_FREE);
        assertThat(after).as("the lock calls keep them").doesNotContain(lock, unlock);
    }

    @Test
    void aHelperThatMayMoveRegionsMakesTheCodeLookThemUpAgain() throws Exception {
        // bpf_xdp_adjust_tail moves the packet's end: the accesses after it find the region again;
        // the map lookups, bound to their map, keep the regions (their fields are "bound<pc>").
        ClassModel bmc = compiled("bmc_cache.bpf.o", "bmc_udp");
        List<String> after = bmc.methods().stream().filter(m -> m.methodName().stringValue().startsWith("f"))
                .flatMap(m -> resetsAfterCalls(m).stream()).toList();
        assertThat(after).isNotEmpty().allSatisfy(f -> assertThat(f).startsWith("helper"));
    }
}
