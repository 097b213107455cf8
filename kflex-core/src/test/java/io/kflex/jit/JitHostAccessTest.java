package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.helpers.HelperTable;
import io.kflex.interp.Interpreter;
import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.ObjectMap;
import io.kflex.loader.Program;
import io.kflex.loader.ProgramType;
import io.kflex.maps.MapSpec;
import io.kflex.runtime.ContextLayout;
import io.kflex.runtime.ContextRewriter;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import io.kflex.runtime.PacketBuffer;
import io.kflex.runtime.TestRun;
import io.kflex.runtime.TestRunResult;
import io.kflex.verifier.AccessFact;
import io.kflex.verifier.MemoryRegion;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Loads and stores the verifier proved to reach the packet, the context or a map value are
 * compiled as direct segment accesses; these runs check them against the interpreter (outcome,
 * fault pc and reason, packet and map contents), including faults a verifier bug would cause.
 */
class JitHostAccessTest {

    /** Reads u8/u16/u32/u64 from the frame, writes an immediate and a register, stores a checksum at +16. */
    private static final String PARSE = """
            r2 = *(u32 *)(r1 + 0x0)
            r3 = *(u32 *)(r1 + 0x4)
            r4 = r2
            r4 += 0x18
            r0 = 0x1
            if r4 > r3 goto +0xc
            r5 = *(u8 *)(r2 + 0x0)
            r6 = *(u16 *)(r2 + 0x2)
            r7 = *(u32 *)(r2 + 0x4)
            r8 = *(u64 *)(r2 + 0x8)
            r9 = *(s8 *)(r2 + 0x1)
            *(u8 *)(r2 + 0x0) = 0x7f
            *(u32 *)(r2 + 0x4) = r5
            r8 ^= r7
            r8 += r6
            r8 += r9
            *(u64 *)(r2 + 0x10) = r8
            r0 = 0x2
            exit
            """;

    /** Reads the frame, moves its start 8 bytes to the front with bpf_xdp_adjust_head, then reads and writes the new frame. */
    private static final String ADJUST_HEAD = """
            r6 = r1
            r2 = *(u32 *)(r6 + 0x0)
            r3 = *(u32 *)(r6 + 0x4)
            r4 = r2
            r4 += 0x8
            r0 = 0x1
            if r4 > r3 goto +0xe
            r7 = *(u64 *)(r2 + 0x0)
            r1 = r6
            r2 = -0x8
            call 0x2c
            r2 = *(u32 *)(r6 + 0x0)
            r3 = *(u32 *)(r6 + 0x4)
            r4 = r2
            r4 += 0x10
            r0 = 0x1
            if r4 > r3 goto +0x3
            r5 = *(u64 *)(r2 + 0x8)
            r5 ^= r7
            *(u64 *)(r2 + 0x0) = r5
            r0 = 0x2
            exit
            """;

    /** A load through a register that points into the stack on one path and into the packet on the other. */
    private static final String MIXED = """
            r2 = *(u32 *)(r1 + 0x0)
            r3 = *(u32 *)(r1 + 0x4)
            r4 = r2
            r4 += 0x8
            r0 = 0x1
            if r4 > r3 goto +0x9
            r5 = *(u8 *)(r2 + 0x0)
            r7 = r10
            r7 += -0x8
            *(u64 *)(r10 - 0x8) = 0x55
            if r5 > 0x80 goto +0x1
            r7 = r2
            r0 = *(u8 *)(r7 + 0x0)
            *(u8 *)(r2 + 0x7) = r0
            r0 = 0x2
            exit
            """;

    /** Copies frame bytes 0..3 to 4..7 through a stack slot addressed by a copy of r10. */
    private static final String STACK_POINTER = """
            r2 = *(u32 *)(r1 + 0x0)
            r3 = *(u32 *)(r1 + 0x4)
            r4 = r2
            r4 += 0x8
            r0 = 0x1
            if r4 > r3 goto +0x7
            r7 = r10
            r7 += -0x10
            r5 = *(u32 *)(r2 + 0x0)
            *(u32 *)(r7 + 0x4) = r5
            r6 = *(u32 *)(r7 + 0x4)
            *(u32 *)(r2 + 0x4) = r6
            r0 = 0x2
            exit
            """;

    /** Counts runs in an array map value (u64 at 0) and stores the frame's first byte at +8. */
    private static final String MAP_VALUE = """
            r6 = r1
            *(u32 *)(r10 - 0x4) = 0x0
            r2 = r10
            r2 += -0x4
            r1 = map_idx(0x0) ll
            call 0x1
            if r0 == 0x0 goto +0xb
            r1 = *(u64 *)(r0 + 0x0)
            r1 += 0x1
            *(u64 *)(r0 + 0x0) = r1
            r2 = *(u32 *)(r6 + 0x0)
            r3 = *(u32 *)(r6 + 0x4)
            r4 = r2
            r4 += 0x1
            if r4 > r3 goto +0x2
            r5 = *(u8 *)(r2 + 0x0)
            *(u32 *)(r0 + 0x8) = r5
            r0 = 0x2
            exit
            """;

    private static byte[] frame(int length) {
        byte[] frame = new byte[length];
        for (int i = 0; i < length; i++) frame[i] = (byte) (i * 37 + 0x91);
        return frame;
    }

    private record Run(TestRunResult result, int hostAccesses, byte[] mapValue) {}

    private static Run run(String engine, String source, byte[] frame, int repeat) throws Exception {
        Code code = Assembler.assemble(source);
        Program program = new Program("prog", "xdp", ProgramType.XDP, code, List.of(0), List.of(), List.of());
        ObjectMap counters = new ObjectMap(MapSpec.of("counters", MapSpec.ARRAY, 4, 16, 1, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>());
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(5)).build();
             Extension ext = runtime.open(new ExtensionObject("host", List.of(program), List.of(counters), Optional.empty(), "GPL", Optional.empty()))) {
            LoadedProgram loaded = ext.load("prog");
            TestRunResult result = loaded.testRun(TestRun.once().withData(frame).withRepeat(repeat));
            int host = loaded.executable() instanceof JitExecutable j ? j.hostAccesses() : -1;
            byte[] value = ext.maps().byName("counters").lookup(new byte[4]).orElseThrow();
            return new Run(result, host, value);
        }
    }

    /** Runs {@code source} on both engines and checks they agree; returns the JIT's run. */
    private static Run agree(String source, byte[] frame, int repeat) throws Exception {
        Run interpreted = run("interpreter", source, frame, repeat);
        Run compiled = run("jit", source, frame, repeat);
        assertThat(compiled.result().outcome()).isEqualTo(interpreted.result().outcome());
        assertThat(compiled.result().dataOut()).isEqualTo(interpreted.result().dataOut());
        assertThat(compiled.mapValue()).isEqualTo(interpreted.mapValue());
        return compiled;
    }

    @Test
    void packetAndContextAccessesGoStraightToTheirSegments() throws Exception {
        byte[] in = frame(64);
        Run run = agree(PARSE, in, 3);
        assertThat(run.hostAccesses()).as("2 context loads, 5 packet loads, 3 packet stores").isEqualTo(10);
        assertThat(run.result().outcome()).isEqualTo(new Outcome.Returned(2));
        ByteBuffer b = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN);
        long expected = (b.getLong(8) ^ (b.getInt(4) & 0xffffffffL)) + (b.getShort(2) & 0xffff) + in[1];
        ByteBuffer out = ByteBuffer.wrap(run.result().dataOut()).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(out.get(0)).isEqualTo((byte) 0x7f);
        assertThat(out.getInt(4)).isEqualTo(in[0] & 0xff);
        assertThat(out.getLong(16)).isEqualTo(expected);
    }

    @Test
    void aShortFrameTakesTheBoundsCheckedBranch() throws Exception {
        Run run = agree(PARSE, frame(20), 1);
        assertThat(run.result().outcome()).isEqualTo(new Outcome.Returned(1));
    }

    @Test
    void packetAccessesAfterAdjustHeadSeeTheMovedFrame() throws Exception {
        byte[] in = frame(40);
        Run run = agree(ADJUST_HEAD, in, 2);
        assertThat(run.result().outcome()).isEqualTo(new Outcome.Returned(2));
        byte[] out = run.result().dataOut();
        assertThat(out).hasSize(48);
        ByteBuffer b = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN);
        // The new frame's bytes 8..15 are the old frame's 0..7: the value xored with itself.
        assertThat(ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).getLong(0)).isZero();
        assertThat(b.getLong(0)).isNotZero();
    }

    @Test
    void mixedAccessesKeepTheGenericPathOnBothBranches() throws Exception {
        for (int first : new int[] {0x10, 0xf0}) {
            byte[] in = frame(16);
            in[0] = (byte) first;
            Run run = agree(MIXED, in, 1);
            assertThat(run.hostAccesses()).as("context and packet accesses, not the mixed one").isEqualTo(4);
            byte expected = first > 0x80 ? 0x55 : (byte) first;
            assertThat(run.result().dataOut()[7]).isEqualTo(expected);
        }
    }

    @Test
    void stackAccessesThroughAnotherRegisterGoStraightToTheStack() throws Exception {
        byte[] in = frame(16);
        Run run = agree(STACK_POINTER, in, 2);
        assertThat(run.hostAccesses()).as("2 context, 2 packet, 2 stack accesses").isEqualTo(6);
        assertThat(java.util.Arrays.copyOfRange(run.result().dataOut(), 4, 8)).isEqualTo(java.util.Arrays.copyOfRange(in, 0, 4));
    }

    @Test
    void mapValueAccessesGoStraightToTheMapRegion() throws Exception {
        byte[] in = frame(32);
        Run run = agree(MAP_VALUE, in, 5);
        assertThat(run.hostAccesses()).as("2 map-value loads/stores, 1 more store, 2 context loads, 1 packet load").isEqualTo(6);
        ByteBuffer value = ByteBuffer.wrap(run.mapValue()).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(value.getLong(0)).isEqualTo(5);
        assertThat(value.getInt(8)).isEqualTo(in[0] & 0xff);
    }

    /**
     * A 64-bit store to a writable context takes its array; narrower stores to the same window
     * need its segment, which the first of them looks up (the window is cached by then).
     */
    private static final String CONTEXT_STORES = """
            r2 = 0x1122334455667788 ll
            *(u64 *)(r1 + 0x0) = r2
            *(u32 *)(r1 + 0x8) = 0x99
            *(u16 *)(r1 + 0xc) = 0x7
            r3 = *(u64 *)(r1 + 0x0)
            r0 = *(u32 *)(r1 + 0x8)
            r0 += r3
            exit
            """;

    @Test
    void narrowContextStoresAfterAWholeWordStoreFindTheSegmentTheyNeed() throws Exception {
        byte[][] ctxOut = new byte[2][];
        Outcome[] outcomes = new Outcome[2];
        int i = 0;
        for (String engine : new String[] {"interpreter", "jit"}) {
            Program program = new Program("prog", "syscall", ProgramType.SYSCALL, Assembler.assemble(CONTEXT_STORES), List.of(0), List.of(), List.of());
            try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(5)).build();
                 Extension ext = runtime.open(new ExtensionObject("host", List.of(program), List.of(), Optional.empty(), "GPL", Optional.empty()))) {
                LoadedProgram loaded = ext.load("prog");
                if (engine.equals("jit")) assertThat(((JitExecutable) loaded.executable()).hostAccesses()).as("every access is a context access").isEqualTo(5);
                TestRunResult result = loaded.testRun(TestRun.once().withContext(new byte[16]).withRepeat(3));
                outcomes[i] = result.outcome();
                ctxOut[i++] = result.ctxOut();
            }
        }
        assertThat(outcomes[1]).isEqualTo(outcomes[0]).isEqualTo(new Outcome.Returned(0x1122334455667788L + 0x99));
        assertThat(ctxOut[1]).isEqualTo(ctxOut[0]);
        assertThat(ByteBuffer.wrap(ctxOut[1]).order(ByteOrder.LITTLE_ENDIAN).getShort(12)).isEqualTo((short) 7);
    }

    // Defense in depth: a context whose packet pointers lie (as a verifier or host bug could make
    // them) must fault at the access with the address space's reason, on both engines alike.

    private static Outcome runWithPacketPointers(Engine engine, long dataOffset, long dataEndOffset, boolean unmapped) throws Exception {
        return runWithPacketPointers(engine, dataOffset, dataEndOffset, unmapped, false, null);
    }

    /**
     * {@link #runWithPacketPointers(Engine, long, long, boolean)}; with {@code packetFactsSayStack},
     * the facts given to the engine claim that every packet access reaches the stack (a verifier
     * bug); {@code frameOut}, if given, receives the frame after the run.
     */
    private static Outcome runWithPacketPointers(Engine engine, long dataOffset, long dataEndOffset, boolean unmapped,
                                                 boolean packetFactsSayStack, byte[][] frameOut) throws Exception {
        Code code = Assembler.assemble(PARSE);
        ContextLayout layout = ContextLayout.of(ProgramType.XDP);
        VerifiedProgram verified = ContextRewriter.rewritten(
                Verifier.verify(code, ProgramType.XDP, List.of(), VerifierOptions.defaults()), layout);
        if (packetFactsSayStack) verified = packetFactsSayStack(verified);
        Executable executable = engine.load(ContextRewriter.rewrite(verified, layout), Bindings.of(HelperTable.empty()).withVerified(verified));
        if (executable instanceof JitExecutable j) assertThat(j.hostAccesses()).isEqualTo(10);
        AddressSpace memory = new AddressSpace();
        MemorySegment ctx = MemorySegment.ofArray(new long[(layout.size() + 7) / 8]);
        long ctxAddress = memory.map(new Region(Region.Kind.CONTEXT, ctx, true, "ctx"));
        PacketBuffer packet = new PacketBuffer(frame(64));
        packet.attach(memory, ctx, layout);
        long base = ctx.get(ValueLayout.JAVA_LONG_UNALIGNED, layout.shadow("data").offset()) & ~0xffffffffL;
        if (unmapped) base = 0x77L << 32;
        ctx.set(ValueLayout.JAVA_LONG_UNALIGNED, layout.shadow("data").offset(), base + dataOffset);
        ctx.set(ValueLayout.JAVA_LONG_UNALIGNED, layout.shadow("data_end").offset(), base + dataEndOffset);
        Outcome outcome = executable.run(new Invocation(memory, ctxAddress).withHostContext(packet));
        if (frameOut != null) frameOut[0] = packet.frame();
        return outcome;
    }

    private static VerifiedProgram packetFactsSayStack(VerifiedProgram v) {
        java.util.Map<Integer, AccessFact> accesses = new java.util.TreeMap<>(v.accesses());
        accesses.replaceAll((pc, f) -> f.region() != MemoryRegion.PACKET ? f
                : new AccessFact(f.pc(), MemoryRegion.STACK, f.minOffset(), f.maxOffset(), f.size(), f.write(), f.map(), f.guardNeeded()));
        return new VerifiedProgram(v.code(), v.type(), v.processedInstructions(), accesses, v.backEdges(), v.cancellationPoints(),
                v.heldAtCancellation(), v.stackDepths(), v.log(), v.callMaps());
    }

    @Test
    void aStackFactWhoseAddressLiesElsewhereTakesTheAddressSpacesPath() throws Exception {
        // Facts that call the packet accesses stack accesses: the compiled code finds the addresses
        // outside the stack's window and goes through the address space, which serves the packet.
        byte[][] interpretedFrame = new byte[1][], compiledFrame = new byte[1][];
        Outcome interpreted = runWithPacketPointers(new Interpreter(), 0, 64, false, false, interpretedFrame);
        Outcome compiled = runWithPacketPointers(new JitEngine(), 0, 64, false, true, compiledFrame);
        assertThat(interpreted).isEqualTo(new Outcome.Returned(2));
        assertThat(compiled).isEqualTo(interpreted);
        assertThat(compiledFrame[0]).isEqualTo(interpretedFrame[0]);
        // ... and into an unmapped window the access faults as the address space says.
        Outcome unmappedInterpreted = runWithPacketPointers(new Interpreter(), 0, 64, true);
        Outcome unmappedCompiled = runWithPacketPointers(new JitEngine(), 0, 64, true, true, null);
        assertThat(unmappedCompiled).isEqualTo(unmappedInterpreted);
        assertThat(((Outcome.Faulted) unmappedCompiled).reason()).contains("unmapped");
    }

    @Test
    void aPacketAccessPastTheRegionFaultsAtItsPcWithTheAddressSpacesReason() throws Exception {
        // data = 4090 in a 4096-byte region: the u8 and u16 loads fit, the u32 load at +4 does not.
        Outcome interpreted = runWithPacketPointers(new Interpreter(), 4090, 4200, false);
        Outcome compiled = runWithPacketPointers(new JitEngine(), 4090, 4200, false);
        assertThat(interpreted).isInstanceOf(Outcome.Faulted.class);
        assertThat(((Outcome.Faulted) interpreted).pc()).isEqualTo(8);
        assertThat(((Outcome.Faulted) interpreted).reason()).contains("out of bounds");
        assertThat(compiled).isEqualTo(interpreted);
    }

    @Test
    void aPacketPointerIntoAnUnmappedWindowFaultsAtTheFirstAccess() throws Exception {
        Outcome interpreted = runWithPacketPointers(new Interpreter(), 0, 64, true);
        Outcome compiled = runWithPacketPointers(new JitEngine(), 0, 64, true);
        assertThat(interpreted).isInstanceOf(Outcome.Faulted.class);
        assertThat(((Outcome.Faulted) interpreted).pc()).isEqualTo(6);
        assertThat(((Outcome.Faulted) interpreted).reason()).contains("unmapped");
        assertThat(compiled).isEqualTo(interpreted);
    }

    /**
     * {@link #PARSE} over a context and a packet that are native memory, not arrays (a host may
     * map such regions): the compiled loads find no array behind their windows and take the
     * generic load, the stores their segments. Returns the outcome and leaves the frame in
     * {@code frameOut[0]}.
     */
    private static Outcome runOverNativeRegions(Engine engine, long dataOffset, long dataEndOffset, byte[][] frameOut) throws Exception {
        Code code = Assembler.assemble(PARSE);
        ContextLayout layout = ContextLayout.of(ProgramType.XDP);
        VerifiedProgram verified = ContextRewriter.rewritten(
                Verifier.verify(code, ProgramType.XDP, List.of(), VerifierOptions.defaults()), layout);
        Executable executable = engine.load(ContextRewriter.rewrite(verified, layout), Bindings.of(HelperTable.empty()).withVerified(verified));
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            AddressSpace memory = new AddressSpace();
            MemorySegment ctx = arena.allocate((layout.size() + 7) / 8 * 8, 8);
            long ctxAddress = memory.map(new Region(Region.Kind.CONTEXT, ctx, true, "ctx"));
            MemorySegment packet = arena.allocate(64, 8);
            MemorySegment.copy(frame(64), 0, packet, ValueLayout.JAVA_BYTE, 0, 64);
            long packetBase = memory.map(new Region(Region.Kind.PACKET, packet, true, "packet"));
            assertThat(memory.bytesAt(packetBase, 1, false)).as("no array behind the packet").isNull();
            assertThat(memory.wordsAt(ctxAddress, 8, false)).as("no array behind the context").isNull();
            ctx.set(ValueLayout.JAVA_LONG_UNALIGNED, layout.shadow("data").offset(), packetBase + dataOffset);
            ctx.set(ValueLayout.JAVA_LONG_UNALIGNED, layout.shadow("data_end").offset(), packetBase + dataEndOffset);
            Outcome outcome = executable.run(new Invocation(memory, ctxAddress));
            frameOut[0] = packet.toArray(ValueLayout.JAVA_BYTE);
            return outcome;
        }
    }

    @Test
    void regionsThatAreNotArraysTakeTheGenericLoadWithTheInterpretersResultsAndFaults() throws Exception {
        byte[][] interpretedFrame = new byte[1][], compiledFrame = new byte[1][];
        Outcome interpreted = runOverNativeRegions(new Interpreter(), 0, 64, interpretedFrame);
        Outcome compiled = runOverNativeRegions(new JitEngine(), 0, 64, compiledFrame);
        assertThat(interpreted).isEqualTo(new Outcome.Returned(2));
        assertThat(compiled).isEqualTo(interpreted);
        assertThat(compiledFrame[0]).isEqualTo(interpretedFrame[0]).isNotEqualTo(frame(64));
        // A lying data pointer: 60 bytes in, the u32 load at +4 runs past the 64-byte region.
        Outcome pastInterpreted = runOverNativeRegions(new Interpreter(), 60, 120, interpretedFrame);
        Outcome pastCompiled = runOverNativeRegions(new JitEngine(), 60, 120, compiledFrame);
        assertThat(pastInterpreted).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.reason()).contains("out of bounds"));
        assertThat(pastCompiled).isEqualTo(pastInterpreted);
    }

    @Test
    void withoutFactsNothingIsSpecialised() throws Exception {
        Code code = Assembler.assemble(PARSE);
        JitCompiler compiler = new JitCompiler(code, Bindings.of(HelperTable.empty()));
        assertThat(compiler.hostAccesses()).isZero();
        VerifiedProgram verified = Verifier.verify(code, ProgramType.XDP, List.of(), VerifierOptions.defaults());
        assertThat(verified.accessAt(6).region()).isEqualTo(MemoryRegion.PACKET);
    }
}
