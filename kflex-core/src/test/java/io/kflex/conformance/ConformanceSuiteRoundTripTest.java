package io.kflex.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.isa.asm.Disassembler;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every program of the suite assembles, and its disassembly assembles back to the same bytes. */
class ConformanceSuiteRoundTripTest {

    @Test
    void everyProgramRoundTripsThroughTheDisassembler() throws Exception {
        int programs = 0;
        for (Path file : ConformanceRunner.collect(List.of(ConformanceSuite.directory()))) {
            TestFile test = TestFile.read(file);
            Code code = Assembler.assemble(test.asm());
            if (test.raw() != null) assertThat(code.words()).as(file.toString()).containsExactly(test.raw());
            for (Disassembler.Radix radix : Disassembler.Radix.values()) {
                String listing = Disassembler.of(radix).listing(code, pc -> null);
                assertThat(Assembler.assemble(listing).words()).as("%s\n%s", file, listing).containsExactly(code.words());
            }
            programs++;
        }
        assertThat(programs).isEqualTo(ConformanceSuite.FILES);
    }
}
