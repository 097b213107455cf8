package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.Code;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.loader.ProgramType;
import io.kflex.maps.MapSpec;
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
        return verify(name, type, List.of());
    }

    private static VerifiedProgram verify(String name, ProgramType type, List<MapSpec> maps) throws Exception {
        return verify(name, type, maps, java.util.Map.of());
    }

    /**
     * Loads {@code name.hex}; lddw slots listed in {@code name.relocs} ("slot symbol") become map
     * references (symbol = a map) or direct value accesses (symbol in {@code globals}: map index
     * and offset of the variable), as the loader does.
     */
    private static VerifiedProgram verify(String name, ProgramType type, List<MapSpec> maps, java.util.Map<String, int[]> globals) throws Exception {
        long[] words;
        try (InputStream in = ClangProgramsTest.class.getResourceAsStream("/verifier/clang/" + name + ".hex")) {
            String hex = new String(in.readAllBytes(), StandardCharsets.US_ASCII).replaceAll("\\s", "");
            java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(HexFormat.of().parseHex(hex)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            words = new long[bytes.remaining() / 8];
            for (int i = 0; i < words.length; i++) words[i] = bytes.getLong();
        }
        try (InputStream in = ClangProgramsTest.class.getResourceAsStream("/verifier/clang/" + name + ".relocs")) {
            if (in != null) {
                for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                    if (line.isBlank()) continue;
                    String[] parts = line.trim().split(" ");
                    int slot = Integer.parseInt(parts[0]);
                    int[] global = globals.get(parts[1]);
                    int index = global != null ? global[0]
                            : java.util.stream.IntStream.range(0, maps.size()).filter(i -> maps.get(i).name().equals(parts[1])).findFirst().orElseThrow();
                    long w = words[slot];
                    // src_reg = MAP_IDX (5) or MAP_IDX_VALUE (6), imm = map index; the second slot's imm = offset.
                    w = (w & ~0xf000L) | ((long) (global != null ? LoadImm64.MAP_IDX_VALUE : LoadImm64.MAP_IDX) << 12);
                    w = (w & 0xffffffffL) | ((long) index << 32);
                    words[slot] = w;
                    if (global != null) words[slot + 1] = (words[slot + 1] & 0xffffffffL) | ((long) global[1] << 32);
                }
            }
        }
        return Verifier.verify(Code.decode(words), type, maps, VerifierOptions.defaults());
    }

    @Test
    void heapListWalkAsClangEmitsIt() throws Exception {
        List<MapSpec> maps = List.of(MapSpec.of("heap", MapSpec.ARENA, 0, 0, 16, MapSpec.F_MMAPABLE),
                MapSpec.of(".bss", MapSpec.ARRAY, 4, 8, 1, MapSpec.F_MMAPABLE));
        VerifiedProgram p = verify("syscall-walk", ProgramType.SYSCALL, maps, java.util.Map.of("list_head", new int[] {1, 0}));
        assertThat(p.accessAt(3).region()).isEqualTo(MemoryRegion.MAP_VALUE);
        assertThat(p.accessAt(7).region()).isEqualTo(MemoryRegion.HEAP);
        assertThat(p.accessAt(7).guardNeeded()).isFalse(); // the cast at 6 sanitised the base
        assertThat(p.accessAt(9).guardNeeded()).isFalse(); // same base, same block
        assertThat(p.cancellationPoints()).hasSize(1);
        assertThat(p.processedInstructions()).isLessThan(100);
    }

    @Test
    void sourceCounterWithLockedMapValueAndRingBufferEvent() throws Exception {
        List<MapSpec> maps = List.of(MapSpec.of("counters", MapSpec.HASH, 4, 88, 1024, 0), MapSpec.of("events", MapSpec.RINGBUF, 0, 0, 4096, 0));
        VerifiedProgram p = verify("xdp-count", ProgramType.XDP, maps);
        assertThat(p.accessAt(51).region()).isEqualTo(MemoryRegion.MAP_VALUE);
        assertThat(p.accessAt(51).maxOffset()).isEqualTo(24 + 56);
        assertThat(p.accessAt(61).region()).isEqualTo(MemoryRegion.RINGBUF);
        // The value is one byte too small for history[7]: the same code must be rejected.
        List<MapSpec> small = List.of(MapSpec.of("counters", MapSpec.HASH, 4, 87, 1024, 0), MapSpec.of("events", MapSpec.RINGBUF, 0, 0, 4096, 0));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> verify("xdp-count", ProgramType.XDP, small))
                .isInstanceOfSatisfying(VerificationException.class, e -> assertThat(e.rule()).isEqualTo(Rule.OUT_OF_BOUNDS));
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
    void loopBoundedByA64BitArgumentKeepsItsCancellationPoint() throws Exception {
        // for (i = 0; i < n; i++) with n read from the context: proven to end, after up to 2^64 iterations.
        VerifiedProgram p = verify("syscall-arg", ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isFalse();
            assertThat(b.reason()).contains("counted loop").contains("too many");
        });
        assertThat(p.cancellationPoints()).hasSize(1);
    }
}
