package io.kflex.linux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How the Linux comparison reads bpftool's output (no kernel needed). */
class LinuxKernelTest {
    @Test
    void theComplaintIsTheVerifiersReasonNotBpftoolsEpilogue() {
        String unbounded = """
                libbpf: prog 'walk_unbounded': BPF program load failed: Argument list too long
                libbpf: prog 'walk_unbounded': -- BEGIN PROG LOAD LOG --
                0: R1=ctx() R10=fp0
                BPF program is too large. Processed 1000001 insn
                processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 10000 peak_states 10000 mark_read 1
                -- END PROG LOAD LOG --
                libbpf: prog 'walk_unbounded': failed to load: -7
                libbpf: failed to load object 'unbounded_walk.bpf.o'
                Error: failed to load object file
                """;
        assertThat(LinuxKernel.complaint(unbounded)).isEqualTo("BPF program is too large. Processed 1000001 insn");
        String leak = """
                45: (95) exit
                Unreleased reference id=3 alloc_insn=36
                processed 50 insns (limit 1000000)
                libbpf: prog 'leaky_owner': failed to load: -22
                Error: failed to load object file
                """;
        assertThat(LinuxKernel.complaint(leak)).isEqualTo("Unreleased reference id=3 alloc_insn=36");
        assertThat(LinuxKernel.complaint("libbpf: extern (func ksym) 'kflex_free': not found in kernel or module BTFs\nError: failed"))
                .isEqualTo("extern (func ksym) 'kflex_free': not found in kernel or module BTFs");
        assertThat(LinuxKernel.complaint("")).isEqualTo("load failed");
    }

    @Test
    void objectsLinuxRefusesForKflexOnlyKfuncsAreRecognised() {
        assertThat(LinuxCompatibilityTest.kflexOnlyKfunc("extern (func ksym) 'kflex_free': not found in kernel or module BTFs")).contains("kflex_free");
        assertThat(LinuxCompatibilityTest.kflexOnlyKfunc("extern (func ksym) 'bpf_foo': not found in kernel or module BTFs")).isEmpty();
        assertThat(LinuxCompatibilityTest.kflexOnlyKfunc("BPF program is too large. Processed 1000001 insn")).isEmpty();
    }
}
