package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.Code;
import io.kflex.loader.ProgramType;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Programs as clang -O2 compiles them (sources and disassembly in
 * {@code src/test/resources/verifier/clang}): real register allocation, rotated loops, packet
 * bounds checks with variable offsets.
 */
class ClangProgramsTest {

    private static VerifiedProgram verify(String name, ProgramType type) throws Exception {
        try (InputStream in = ClangProgramsTest.class.getResourceAsStream("/verifier/clang/" + name + ".hex")) {
            String hex = new String(in.readAllBytes(), StandardCharsets.US_ASCII).replaceAll("\\s", "");
            Code code = Code.decode(HexFormat.of().parseHex(hex));
            return Verifier.verify(code, type, List.of(), VerifierOptions.defaults());
        }
    }

    @Test
    void udpPortFilterWithVariableIpHeaderLength() throws Exception {
        VerifiedProgram p = verify("xdp-dns", ProgramType.XDP);
        assertThat(p.backEdges()).isEmpty();
        assertThat(p.accessAt(27).region()).isEqualTo(MemoryRegion.PACKET);
        assertThat(p.accessAt(27).maxOffset()).isEqualTo(14 + 60 + 2);
    }

    @Test
    void packetLoopWithPerIterationBoundsCheck() throws Exception {
        VerifiedProgram p = verify("xdp-sum", ProgramType.XDP);
        assertThat(p.backEdges()).singleElement().satisfies(b -> assertThat(b.terminating()).isTrue());
        assertThat(p.processedInstructions()).isLessThan(200);
    }

    @Test
    void hundredThousandIterationsExitingOnEquality() throws Exception {
        VerifiedProgram p = verify("syscall-counted", ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> assertThat(b.terminating()).isTrue());
        assertThat(p.cancellationPoints()).isEmpty();
        assertThat(p.processedInstructions()).isLessThan(10_000);
    }

    @Test
    void loopBoundedByAnArgumentTerminates() throws Exception {
        VerifiedProgram p = verify("syscall-arg", ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> assertThat(b.terminating()).isTrue());
        assertThat(p.cancellationPoints()).isEmpty();
    }
}
