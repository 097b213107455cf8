package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.engine.SharedRegions;
import io.kflex.helpers.HelperTable;
import io.kflex.helpers.MapHelpers;
import io.kflex.interp.Interpreter;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ObjectMap;
import io.kflex.loader.ProgramType;
import io.kflex.maps.BpfMap;
import io.kflex.maps.MapSet;
import io.kflex.maps.MapSpec;
import io.kflex.maps.MapTable;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Accesses the verifier proved to reach the values of one map, whose values stay in one region
 * (an array, a hash map's slab), go through that region's segment held in a static final after a
 * check that the address is in the region's window. These runs compare the JIT with the
 * interpreter — loads of every width, sign-extending loads, narrow and wide stores, a global
 * variable read through {@code map_idx_value} — and check that a region the address does not lie
 * in (what a wrong fact or a remapped map would give) is never used: the access falls back to the
 * generic path and gives the same results.
 */
class JitFixedValueRegionTest {

    /**
     * Looks key 0 up in hash map 0 (24-byte values), bumps the u64 at +0, copies the u8 at +8,
     * the s16 at +10 and the u32 at +12 to +16, +18 and +20, and returns their sum plus the u32
     * global at +4 of array map 1 (a {@code .bss}-like value).
     */
    private static final String PROGRAM = """
            *(u32 *)(r10 - 0x4) = 0x0
            r2 = r10
            r2 += -0x4
            r1 = map_idx(0x0) ll
            call 0x1
            if r0 == 0x0 goto miss
            r1 = *(u64 *)(r0 + 0x0)
            r1 += 0x1
            *(u64 *)(r0 + 0x0) = r1
            r2 = *(u8 *)(r0 + 0x8)
            r3 = *(s16 *)(r0 + 0xa)
            r4 = *(u32 *)(r0 + 0xc)
            *(u8 *)(r0 + 0x10) = r2
            *(u16 *)(r0 + 0x12) = r3
            *(u32 *)(r0 + 0x14) = r4
            r5 = map_idx_value(0x1) ll
            r5 = *(u32 *)(r5 + 0x4)
            r0 = r1
            r0 += r2
            r0 += r3
            r0 += r4
            r0 += r5
            exit
            miss:
            r0 = 0xdead
            exit
            """;

    private static final List<ObjectMap> MAPS = List.of(
            new ObjectMap(MapSpec.of("values", MapSpec.HASH, 4, 24, 16, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>()),
            new ObjectMap(MapSpec.of("globals", MapSpec.ARRAY, 4, 8, 1, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>()));

    /** The maps, their value before the runs, and what each engine ends with. */
    private static final class Fixture implements AutoCloseable {
        final SharedRegions shared = new SharedRegions();
        final MapTable table = new MapTable(shared, 1);
        final MapSet maps;
        final Code code = Assembler.assemble(PROGRAM);
        final VerifiedProgram verified;

        Fixture() throws Exception {
            maps = MapSet.create(table, MAPS);
            byte[] value = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(0, 41).put(8, (byte) 0xc8).putShort(10, (short) -1234).putInt(12, 0x7654_3210).array();
            maps.get(0).update(new byte[4], value, BpfMap.BPF_ANY);
            maps.get(1).update(new byte[4], ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 1000).array(), BpfMap.BPF_ANY);
            verified = Verifier.verify(code, ProgramType.SYSCALL, List.of(MAPS.get(0).spec(), MAPS.get(1).spec()), VerifierOptions.defaults());
        }

        Bindings bindings(Bindings.PseudoResolver pseudo) {
            return new Bindings(MapHelpers.register(HelperTable.builder(), table).build(), pseudo).withVerified(verified);
        }

        long run(Engine engine, Bindings bindings) throws EngineException {
            AddressSpace memory = new AddressSpace(shared);
            long ctx = memory.map(new Region(Region.Kind.CONTEXT, MemorySegment.ofArray(new long[1]), true, "ctx"));
            Outcome outcome = engine.load(code, bindings).run(new Invocation(memory, ctx));
            assertThat(outcome).isInstanceOf(Outcome.Returned.class);
            return ((Outcome.Returned) outcome).r0();
        }

        byte[] value() {
            return maps.get(0).lookup(new byte[4]).orElseThrow();
        }

        @Override
        public void close() {
            maps.close();
        }
    }

    /** A resolver that resolves like {@code maps} but names {@code regions} as the maps' fixed value regions. */
    private static Bindings.PseudoResolver withValueRegions(MapSet maps, Function<Integer, Optional<Bindings.FixedRegion>> regions) {
        return new Bindings.PseudoResolver() {
            @Override
            public OptionalLong resolve(LoadImm64 insn) throws EngineException {
                return maps.resolve(insn);
            }

            @Override
            public Optional<Bindings.FixedRegion> valueRegion(int mapIndex) {
                return regions.apply(mapIndex);
            }
        };
    }

    @Test
    void everyMapValueAccessGoesThroughItsMapsFixedRegionAndAgreesWithTheInterpreter() throws Exception {
        try (Fixture interpreted = new Fixture(); Fixture compiled = new Fixture()) {
            JitCompiler compiler = new JitCompiler(compiled.code, compiled.bindings(compiled.maps));
            assertThat(compiler.fixedValueAccesses()).as("4 loads and 4 stores of the hash value, 1 load of the global").isEqualTo(9);
            for (int run = 1; run <= 3; run++) {
                long expected = interpreted.run(new Interpreter(), interpreted.bindings(interpreted.maps));
                assertThat(compiled.run(new JitEngine(), compiled.bindings(compiled.maps))).isEqualTo(expected);
                assertThat(expected).isEqualTo((41 + run) + 0xc8 - 1234 + 0x7654_3210L + 1000);
                assertThat(compiled.value()).isEqualTo(interpreted.value());
            }
            ByteBuffer value = ByteBuffer.wrap(compiled.value()).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(value.get(16)).isEqualTo((byte) 0xc8);
            assertThat(value.getShort(18)).isEqualTo((short) -1234);
            assertThat(value.getInt(20)).isEqualTo(0x7654_3210);
        }
    }

    @Test
    void aRegionTheAddressIsNotInIsNeverUsed() throws Exception {
        try (Fixture f = new Fixture(); Arena arena = Arena.ofConfined()) {
            // A decoy of the right size in another window, full of bytes the program must never see.
            MemorySegment decoy = arena.allocate(1 << 16, 8).fill((byte) 0x5a);
            long decoyBase = f.shared.map(new Region(Region.Kind.MAP_VALUE, decoy, true, "decoy"));
            var wrong = withValueRegions(f.maps, map -> Optional.of(new Bindings.FixedRegion(decoyBase, new Region(Region.Kind.MAP_VALUE, decoy, true, "decoy"))));
            assertThat(new JitCompiler(f.code, f.bindings(wrong)).fixedValueAccesses()).isEqualTo(9);
            long r0 = f.run(new JitEngine(), f.bindings(wrong));
            assertThat(r0).isEqualTo(42 + 0xc8 - 1234 + 0x7654_3210L + 1000);
            assertThat(decoy.elements(java.lang.foreign.ValueLayout.JAVA_BYTE).allMatch(b -> b.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) == 0x5a))
                    .as("nothing was stored into the decoy").isTrue();
        }
    }

    @Test
    void aStoreToAReadOnlyRegionKeepsTheGenericPath() throws Exception {
        try (Fixture f = new Fixture()) {
            var readOnly = withValueRegions(f.maps, map -> f.maps.get(map).valueRegion()
                    .map(r -> new Bindings.FixedRegion(r.base(), new Region(r.region().kind(), r.region().segment(), false, r.region().name()))));
            assertThat(new JitCompiler(f.code, f.bindings(readOnly)).fixedValueAccesses()).as("the 5 loads only").isEqualTo(5);
        }
    }

    @Test
    void mapsWhoseValuesAreNotInOneRegionKeepTheGenericPath() throws Exception {
        try (Fixture f = new Fixture()) {
            var none = withValueRegions(f.maps, map -> Optional.empty());
            assertThat(new JitCompiler(f.code, f.bindings(none)).fixedValueAccesses()).isZero();
            assertThat(f.run(new JitEngine(), f.bindings(none))).isEqualTo(42 + 0xc8 - 1234 + 0x7654_3210L + 1000);
        }
    }
}
