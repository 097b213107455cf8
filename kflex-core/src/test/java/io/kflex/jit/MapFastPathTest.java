package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Engine;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.engine.TestEngines;
import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.ObjectMap;
import io.kflex.loader.Program;
import io.kflex.loader.ProgramType;
import io.kflex.maps.BpfHash;
import io.kflex.maps.BpfMap;
import io.kflex.maps.MapSpec;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import io.kflex.runtime.TestRun;
import io.kflex.runtime.TestRunResult;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Map helper calls whose map argument the verifier proved constant are bound to that map at load
 * time (the JIT calls the map directly), and hash maps look keys up in place. Every program here
 * runs on every engine through the runtime and must give the same results: hits, misses, keys of
 * sizes that are and are not multiples of 8, per-CPU values, a value read after its element was
 * deleted in the same run, updates, and a call whose map differs between paths (not bound).
 */
class MapFastPathTest {

    /** The end of every lookup program: r0 = the u64 value the lookup in r0 found, or 0xdead when it found none. */
    private static final String VALUE_OR_DEAD = """
            if r0 == 0x0 goto miss
            r0 = *(u64 *)(r0 + 0x0)
            exit
            miss:
            r0 = 0xdead
            exit
            """;

    /** The 32 bytes of the context go to the stack at r10-32; the key is the first key_size of them. */
    private static final String KEY_TO_STACK = """
            r6 = r1
            r1 = *(u64 *)(r6 + 0x0)
            *(u64 *)(r10 - 0x20) = r1
            r1 = *(u64 *)(r6 + 0x8)
            *(u64 *)(r10 - 0x18) = r1
            r1 = *(u64 *)(r6 + 0x10)
            *(u64 *)(r10 - 0x10) = r1
            r1 = *(u64 *)(r6 + 0x18)
            *(u64 *)(r10 - 0x8) = r1
            """;

    /** r0 = the u64 value under the key, or 0xdead when the key is missing. */
    private static final String LOOKUP = KEY_TO_STACK + """
            r2 = r10
            r2 += -0x20
            r1 = map_idx(0x0) ll
            call 0x1
            """ + VALUE_OR_DEAD;

    /** Looks the key up, deletes it, then reads the value it found: still valid in this run. */
    private static final String LOOKUP_DELETE_READ = KEY_TO_STACK + """
            r2 = r10
            r2 += -0x20
            r1 = map_idx(0x0) ll
            call 0x1
            if r0 == 0x0 goto miss
            r7 = r0
            r2 = r10
            r2 += -0x20
            r1 = map_idx(0x0) ll
            call 0x3
            if r0 != 0x0 goto failed
            r0 = *(u64 *)(r7 + 0x0)
            exit
            failed:
            r0 = 0xbad
            exit
            miss:
            r0 = 0xdead
            exit
            """;

    /** Stores ctx[32..40) under the key (flags from ctx[40..48)), then returns what a lookup finds; update errors come back negated. */
    private static final String UPDATE_LOOKUP = KEY_TO_STACK + """
            r1 = *(u64 *)(r6 + 0x20)
            *(u64 *)(r10 - 0x28) = r1
            r4 = *(u64 *)(r6 + 0x28)
            r2 = r10
            r2 += -0x20
            r3 = r10
            r3 += -0x28
            r1 = map_idx(0x0) ll
            call 0x2
            if r0 != 0x0 goto failed
            r2 = r10
            r2 += -0x20
            r1 = map_idx(0x0) ll
            call 0x1
            if r0 == 0x0 goto miss
            r0 = *(u64 *)(r0 + 0x0)
            exit
            failed:
            exit
            miss:
            r0 = 0xdead
            exit
            """;

    /** Looks the key up in map 0 when ctx[32] is 0, else in map 1, at one call site: not one constant map. */
    private static final String EITHER_MAP = KEY_TO_STACK + """
            r3 = *(u64 *)(r6 + 0x20)
            r1 = map_idx(0x0) ll
            if r3 == 0x0 goto call
            r1 = map_idx(0x1) ll
            call:
            r2 = r10
            r2 += -0x20
            call 0x1
            """ + VALUE_OR_DEAD;

    /** Looks key 0 up in the outer array of maps, then the context's key in the inner hash map it gives. */
    private static final String MAP_IN_MAP = KEY_TO_STACK + """
            *(u32 *)(r10 - 0x24) = 0x0
            r2 = r10
            r2 += -0x24
            r1 = map_idx(0x0) ll
            call 0x1
            if r0 == 0x0 goto miss
            r1 = r0
            r2 = r10
            r2 += -0x20
            call 0x1
            """ + VALUE_OR_DEAD;

    /** Looks the key up with a pointer into a map value: array map 0's element 0 holds the key for hash map 1. */
    private static final String KEY_IN_MAP_VALUE = """
            *(u32 *)(r10 - 0x4) = 0x0
            r2 = r10
            r2 += -0x4
            r1 = map_idx(0x0) ll
            call 0x1
            if r0 == 0x0 goto miss
            r2 = r0
            r1 = map_idx(0x1) ll
            call 0x1
            """ + VALUE_OR_DEAD;

    static Stream<Arguments> enginesAndKeySizes() {
        return TestEngines.all().stream().flatMap(e -> Stream.of(1, 3, 4, 8, 13, 16, 29, 32).map(k -> Arguments.of(e, k)));
    }

    static Stream<Engine> engines() {
        return TestEngines.all().stream();
    }

    private static ObjectMap hash(String name, int type, int keySize) {
        return new ObjectMap(MapSpec.of(name, type, keySize, 8, 64, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>());
    }

    /**
     * A runtime on {@code engine} with {@code cpus} CPUs and an extension holding the program
     * {@code source} (as "prog") and {@code maps}; closing it closes both.
     */
    private record Fixture(Engine engine, KFlexRuntime runtime, Extension ext) implements AutoCloseable {
        static Fixture of(Engine engine, int cpus, String source, ObjectMap... maps) throws Exception {
            KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).cpus(cpus).budget(Duration.ofSeconds(5)).build();
            try {
                Code code = Assembler.assemble(source);
                Program program = new Program("prog", "syscall", ProgramType.SYSCALL, code, List.of(0), List.of(), List.of());
                return new Fixture(engine, runtime, runtime.open(
                        new ExtensionObject("fastpath", List.of(program), List.of(maps), Optional.empty(), "GPL", Optional.empty())));
            } catch (Exception | Error e) {
                runtime.close();
                throw e;
            }
        }

        BpfMap map(String name) { return ext.maps().byName(name); }

        LoadedProgram load() throws Exception { return ext.load("prog"); }

        /** The loaded program, which the JIT gave {@code boundCalls} helper calls bound to their maps. */
        LoadedProgram load(int boundCalls) throws Exception {
            LoadedProgram program = load();
            if (engine.name().equals("jit")) {
                int bound = program.executable() instanceof JitExecutable jit ? jit.boundCalls() : -1;
                assertThat(bound).as("helper calls bound to their maps").isEqualTo(boundCalls);
            }
            return program;
        }

        @Override
        public void close() {
            try {
                ext.close();
            } finally {
                runtime.close();
            }
        }
    }

    /** A key of {@code size} bytes that differs from every other key of the test in its last byte too. */
    private static byte[] key(int size, int seed) {
        byte[] k = new byte[size];
        for (int i = 0; i < size; i++) k[i] = (byte) (seed * 31 + i * 7 + 1);
        return k;
    }

    private static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    /** The 48-byte context: the key (zero-padded to 32 bytes, then {@code garbage} after the key), a value, flags. */
    private static byte[] context(byte[] key, long value, long flags, byte garbage) {
        byte[] ctx = new byte[48];
        Arrays.fill(ctx, 0, 32, garbage);
        System.arraycopy(key, 0, ctx, 0, key.length);
        ByteBuffer.wrap(ctx).order(ByteOrder.LITTLE_ENDIAN).putLong(32, value).putLong(40, flags);
        return ctx;
    }

    private static long run(LoadedProgram program, byte[] ctx) {
        TestRunResult r = program.testRun(TestRun.once().withContext(ctx));
        assertThat(r.outcome()).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) r.outcome()).r0();
    }

    /** What the program returns for {@code key} with nothing after it, no value and no flags. */
    private static long lookup(LoadedProgram program, byte[] key) {
        return run(program, context(key, 0, 0, (byte) 0));
    }

    @ParameterizedTest(name = "{0}, {1}-byte keys")
    @MethodSource("enginesAndKeySizes")
    void lookupsHitAndMissByTheWholeKey(Engine engine, int keySize) throws Exception {
        try (Fixture f = Fixture.of(engine, 1, LOOKUP, hash("h", MapSpec.HASH, keySize))) {
            for (int i = 0; i < 40; i++) f.map("h").update(key(keySize, i), u64(1000 + i), BpfMap.BPF_ANY);
            LoadedProgram program = f.load(1);
            assertThat(program.verified().callMaps().values()).as("one call, on map 0").containsExactly(0);
            for (int i = 0; i < 40; i++) {
                // Bytes after the key are not part of it.
                assertThat(run(program, context(key(keySize, i), 0, 0, (byte) i))).isEqualTo(1000 + i);
            }
            byte[] other = key(keySize, 3);
            other[keySize - 1] ^= 0x40; // differs in the last byte only (the padded tail of the last word)
            assertThat(lookup(program, other)).isEqualTo(0xdead);
            assertThat(lookup(program, key(keySize, 99))).isEqualTo(0xdead);
        }
    }

    @ParameterizedTest(name = "{0}, {1}-byte keys")
    @MethodSource("enginesAndKeySizes")
    void aKeyOnTheStackAndAKeyInAMapValueFindTheSameEntries(Engine engine, int keySize) throws Exception {
        ObjectMap keys = new ObjectMap(MapSpec.of("keys", MapSpec.ARRAY, 4, 32, 1, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>());
        try (Fixture onStack = Fixture.of(engine, 1, LOOKUP, hash("h", MapSpec.HASH, keySize));
             Fixture inValue = Fixture.of(engine, 1, KEY_IN_MAP_VALUE, keys, hash("h", MapSpec.HASH, keySize))) {
            for (int i = 0; i < 10; i++) {
                onStack.map("h").update(key(keySize, i), u64(500 + i), BpfMap.BPF_ANY);
                inValue.map("h").update(key(keySize, i), u64(500 + i), BpfMap.BPF_ANY);
            }
            LoadedProgram stackKeyed = onStack.load(1), valueKeyed = inValue.load(2);
            if (stackKeyed.executable() instanceof JitExecutable jit) {
                // Both calls are bound lookups with the stack form; only the first one's key is on
                // the stack when it runs, so the second takes the generic path every time.
                assertThat(jit.shape().stackKeyLookups()).isEqualTo(1);
                assertThat(((JitExecutable) valueKeyed.executable()).shape().stackKeyLookups()).isEqualTo(2);
            }
            for (int i : new int[] {0, 3, 9, 42}) {
                byte[] padded = Arrays.copyOf(key(keySize, i), 32);
                inValue.map("keys").update(new byte[4], padded, BpfMap.BPF_ANY);
                long expected = i < 10 ? 500 + i : 0xdead;
                assertThat(lookup(stackKeyed, key(keySize, i))).isEqualTo(expected);
                assertThat(run(valueKeyed, new byte[48])).isEqualTo(expected);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void aValueStaysReadableAfterItsElementIsDeletedInTheSameRun(Engine engine) throws Exception {
        try (Fixture f = Fixture.of(engine, 1, LOOKUP_DELETE_READ, hash("h", MapSpec.HASH, 13))) {
            BpfHash map = (BpfHash) f.map("h");
            map.update(key(13, 1), u64(77), BpfMap.BPF_ANY);
            map.update(key(13, 2), u64(88), BpfMap.BPF_ANY);
            LoadedProgram program = f.load(2); // lookup and delete
            assertThat(lookup(program, key(13, 1))).isEqualTo(77);
            assertThat(map.lookup(key(13, 1))).isEmpty();
            assertThat(map.lookup(key(13, 2))).contains(u64(88));
            assertThat(map.size()).isEqualTo(1);
            assertThat(lookup(program, key(13, 1))).isEqualTo(0xdead);
            // The deleted slot waited for the run to end; with no run in progress a new insert can reuse it.
            map.update(key(13, 1), u64(99), BpfMap.BPF_ANY);
            assertThat(map.lookup(key(13, 1))).contains(u64(99));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void updatesThroughABoundCallKeepLinuxFlags(Engine engine) throws Exception {
        try (Fixture f = Fixture.of(engine, 1, UPDATE_LOOKUP, hash("h", MapSpec.HASH, 6))) {
            LoadedProgram program = f.load(2);
            byte[] k = key(6, 5);
            assertThat(run(program, context(k, 41, BpfMap.BPF_EXIST, (byte) 0))).as("EXIST on a missing key: -ENOENT").isEqualTo(-2);
            assertThat(run(program, context(k, 41, BpfMap.BPF_NOEXIST, (byte) 0))).isEqualTo(41);
            assertThat(run(program, context(k, 42, BpfMap.BPF_NOEXIST, (byte) 0))).as("NOEXIST on a present key: -EEXIST").isEqualTo(-17);
            assertThat(run(program, context(k, 43, BpfMap.BPF_ANY, (byte) 0x5a))).isEqualTo(43);
            assertThat(f.map("h").lookup(k)).contains(u64(43));
            assertThat(f.map("h").keys()).hasSize(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void perCpuMapsGiveTheInvocationsCpuSlot(Engine engine) throws Exception {
        try (Fixture f = Fixture.of(engine, 2, LOOKUP, hash("pc", MapSpec.PERCPU_HASH, 8))) {
            byte[] k = key(8, 9);
            byte[] both = new byte[16];
            System.arraycopy(u64(10), 0, both, 0, 8);
            System.arraycopy(u64(11), 0, both, 8, 8);
            f.map("pc").update(k, both, BpfMap.BPF_ANY);
            LoadedProgram program = f.load(1);
            for (int cpu = 0; cpu < 2; cpu++) {
                assertThat(invokeOn(program, context(k, 0, 0, (byte) 0), cpu)).isEqualTo(10 + cpu);
                assertThat(invokeOn(program, context(key(8, 10), 0, 0, (byte) 0), cpu)).isEqualTo(0xdead);
            }
        }
    }

    /** A hook-style invocation on {@code cpu}. */
    private static long invokeOn(LoadedProgram program, byte[] ctx, int cpu) {
        AddressSpace memory = program.newAddressSpace();
        MemorySegment segment = MemorySegment.ofArray(new long[64]);
        MemorySegment.copy(MemorySegment.ofArray(ctx), 0, segment, 0, ctx.length);
        long address = memory.map(new Region(Region.Kind.CONTEXT, segment, true, "ctx"));
        Outcome outcome = program.invoke(new Invocation(memory, address).withCpu(cpu), null);
        assertThat(outcome).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void aCallWhoseMapDependsOnThePathIsNotBoundAndStillRight(Engine engine) throws Exception {
        try (Fixture f = Fixture.of(engine, 1, EITHER_MAP, hash("a", MapSpec.HASH, 8), hash("b", MapSpec.HASH, 8))) {
            byte[] k = key(8, 1);
            f.map("a").update(k, u64(1), BpfMap.BPF_ANY);
            f.map("b").update(k, u64(2), BpfMap.BPF_ANY);
            LoadedProgram program = f.load(0);
            assertThat(program.verified().callMaps()).as("paths disagree").containsValue(-1);
            assertThat(lookup(program, k)).isEqualTo(1);
            assertThat(run(program, context(k, 1, 0, (byte) 0))).isEqualTo(2);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void onlyTheOuterLookupOfAMapInAMapIsBound(Engine engine) throws Exception {
        MapSpec innerSpec = MapSpec.of("inner", MapSpec.HASH, 8, 8, 16, 0);
        MapSpec outerSpec = new MapSpec("outer", MapSpec.ARRAY_OF_MAPS, 4, 4, 1, 0, 0, innerSpec, 0, 0);
        TreeMap<Integer, String> slots = new TreeMap<>(java.util.Map.of(0, "inner"));
        ObjectMap outer = new ObjectMap(outerSpec, ObjectMap.Origin.BTF, ".maps", null, slots);
        ObjectMap inner = new ObjectMap(innerSpec, ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>());
        try (Fixture f = Fixture.of(engine, 1, MAP_IN_MAP, outer, inner)) {
            byte[] k = key(8, 4);
            f.map("inner").update(k, u64(4444), BpfMap.BPF_ANY);
            LoadedProgram program = f.load(1);
            // The first call names program map 0 on every path; the second whichever map the outer lookup returned.
            assertThat(program.verified().callMaps().values()).containsExactlyInAnyOrder(0, -1);
            assertThat(lookup(program, k)).isEqualTo(4444);
            assertThat(lookup(program, key(8, 5))).isEqualTo(0xdead);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void lruMapsLookUpWithoutAllocatingKeysToo(Engine engine) throws Exception {
        try (Fixture f = Fixture.of(engine, 1, LOOKUP, hash("lru", MapSpec.LRU_HASH, 5))) {
            for (int i = 0; i < 10; i++) f.map("lru").update(key(5, i), u64(i), BpfMap.BPF_ANY);
            LoadedProgram program = f.load();
            for (int i = 0; i < 10; i++) assertThat(lookup(program, key(5, i))).isEqualTo(i);
            assertThat(lookup(program, key(5, 10))).isEqualTo(0xdead);
        }
    }
}
