package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.engine.TestEngines;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction.Load;
import io.kflex.isa.Size;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ProgramType;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ContextRewriterTest {
    /** Drops (1) IPv4 frames, passes (2) everything else: reads ctx->data, ctx->data_end and the EtherType. */
    private static final String DROP_IPV4 = """
            r2 = *(u32 *)(r1 + 0x0)
            r3 = *(u32 *)(r1 + 0x4)
            r4 = r2
            r4 += 0xe
            r0 = 0x2
            if r4 > r3 goto +0x3
            r5 = *(u8 *)(r2 + 0xc)
            if r5 != 0x8 goto +0x1
            r0 = 0x1
            exit
            """;

    static List<Engine> engines() { return TestEngines.all(); }

    @Test
    void xdpLayoutPutsOneShadowSlotPerPointerFieldAfterTheStruct() {
        ContextLayout layout = ContextLayout.of(ProgramType.XDP);
        assertThat(layout.uapiSize()).isEqualTo(24);
        assertThat(layout.shadow("data").offset()).isEqualTo(24);
        assertThat(layout.shadow("data_end").offset()).isEqualTo(32);
        assertThat(layout.shadow("data_meta").offset()).isEqualTo(40);
        assertThat(layout.size()).isEqualTo(48);
        assertThat(layout.shadowAt(12)).isNull();
    }

    @Test
    void pointerFieldLoadsBecomeShadowLoadsAndScalarLoadsStay() throws Exception {
        String source = DROP_IPV4.replace("r5 = *(u8 *)(r2 + 0xc)", "r5 = *(u32 *)(r1 + 0xc)");
        VerifiedProgram verified = Verifier.verify(Assembler.assemble(source), ProgramType.XDP, List.of(), VerifierOptions.defaults());
        Code rewritten = ContextRewriter.rewrite(verified, ContextLayout.of(ProgramType.XDP));
        assertThat(rewritten.at(0)).isEqualTo(new Load(Size.DW, false, 2, 1, (short) 24));
        assertThat(rewritten.at(1)).isEqualTo(new Load(Size.DW, false, 3, 1, (short) 32));
        assertThat(rewritten.at(6)).isEqualTo(verified.code().at(6)); // ingress_ifindex is a plain u32
    }

    @Test
    void theRewrittenProgramsFactsDescribeItsCodeAndRewritingItAgainChangesNothing() throws Exception {
        VerifiedProgram verified = Verifier.verify(Assembler.assemble(DROP_IPV4), ProgramType.XDP, List.of(), VerifierOptions.defaults());
        ContextLayout layout = ContextLayout.of(ProgramType.XDP);
        VerifiedProgram rewritten = ContextRewriter.rewritten(verified, layout);
        assertThat(rewritten.code().words()).isEqualTo(ContextRewriter.rewrite(verified, layout).words());
        assertThat(rewritten.accessAt(0).minOffset()).isEqualTo(24);
        assertThat(rewritten.accessAt(1).maxOffset()).isEqualTo(32);
        assertThat(rewritten.accessAt(1).size()).isEqualTo(8);
        assertThat(rewritten.accessAt(6)).isEqualTo(verified.accessAt(6)); // the packet load is untouched
        assertThat(ContextRewriter.rewrite(rewritten, layout)).isSameAs(rewritten.code());
        assertThat(ContextRewriter.rewritten(rewritten, layout)).isSameAs(rewritten);
    }

    @Test
    void aProgramWithoutContextPointerLoadsIsReturnedUnchanged() throws Exception {
        Code code = Assembler.assemble("r0 = 0x2\nexit\n");
        VerifiedProgram verified = Verifier.verify(code, ProgramType.XDP, List.of(), VerifierOptions.defaults());
        assertThat(ContextRewriter.rewrite(verified, ContextLayout.of(ProgramType.XDP))).isSameAs(code);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aRewrittenProgramReadsTheRealPacketThroughTheShadowSlots(Engine engine) throws Exception {
        VerifiedProgram verified = Verifier.verify(Assembler.assemble(DROP_IPV4), ProgramType.XDP, List.of(), VerifierOptions.defaults());
        ContextLayout layout = ContextLayout.of(ProgramType.XDP);
        var program = engine.load(ContextRewriter.rewrite(verified, layout), Bindings.of(HelperTable.empty()));

        byte[] ipv4 = new byte[60];
        ipv4[12] = 0x08;
        byte[] arp = new byte[60];
        arp[12] = 0x08;
        arp[13] = 0x06;
        arp[12] = 0x08;
        byte[] ipv6 = new byte[60];
        ipv6[12] = (byte) 0x86;
        ipv6[13] = (byte) 0xdd;
        assertThat(run(program, layout, ipv4)).isEqualTo(new Outcome.Returned(1));
        assertThat(run(program, layout, ipv6)).isEqualTo(new Outcome.Returned(2));
        assertThat(run(program, layout, new byte[13])).isEqualTo(new Outcome.Returned(2)); // too short for Ethernet
    }

    private static Outcome run(io.kflex.engine.Executable program, ContextLayout layout, byte[] frame) {
        AddressSpace memory = new AddressSpace();
        MemorySegment ctx = MemorySegment.ofArray(new long[layout.size() / 8]);
        long ctxAddress = memory.map(new Region(Region.Kind.CONTEXT, ctx, false, "ctx"));
        new PacketBuffer(frame).attach(memory, ctx, layout);
        return program.run(new Invocation(memory, ctxAddress));
    }
}
