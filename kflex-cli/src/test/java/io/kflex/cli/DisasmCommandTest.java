package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DisasmCommandTest {
    private static final Path SUBPROGS = Path.of(System.getProperty("kflex.repo.dir", ".."), "extensions", "objects", "subprogs.bpf.o");

    @Test
    void listsLinkedSubprogramsWithFunctionNamesAndSourceLines() {
        CliRun r = CliRun.of("disasm", SUBPROGS.toString());
        assertThat(r.status()).isZero();
        assertThat(r.out())
                .contains("subprogs (section syscall, type syscall")
                .contains("; triple:")
                .contains("; subprogs.bpf.c:35: return 3 * x;")
                .contains("call pc+0x7")
                .contains("exit");
        // One annotation per source line, not one per column record.
        assertThat(r.out().split("; subprogs.bpf.c:54:", -1)).hasSizeLessThan(4);
    }

    @Test
    void jsonHasOneObjectPerProgram() {
        CliRun r = CliRun.of("disasm", SUBPROGS.toString(), "--program", "subprogs", "--json");
        assertThat(r.status()).isZero();
        assertThat(r.out().lines()).hasSize(1).first().asString()
                .startsWith("{\"program\":\"subprogs\",\"section\":\"syscall\",\"type\":\"syscall\"");
    }

    @Test
    void unknownProgramAndBadFilesAreLoadErrors(@TempDir Path dir) throws Exception {
        CliRun missing = CliRun.of("disasm", SUBPROGS.toString(), "--program", "nope");
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.err()).contains("no program named 'nope'").contains("available: subprogs");

        Path garbage = Files.write(dir.resolve("garbage.o"), new byte[] {1, 2, 3});
        CliRun bad = CliRun.of("disasm", garbage.toString());
        assertThat(bad.status()).isEqualTo(2);
        assertThat(bad.err()).startsWith("kflex: garbage.o:").doesNotContain("Exception");
    }
}
