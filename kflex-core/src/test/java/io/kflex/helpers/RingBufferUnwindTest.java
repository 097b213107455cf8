package io.kflex.helpers;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Engine;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Runs;
import io.kflex.engine.SharedRegions;
import io.kflex.engine.TestEngines;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import io.kflex.maps.BpfRingBuf;
import io.kflex.maps.MapSpec;
import io.kflex.maps.MapTable;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A reserved ring-buffer record is a held resource: a program stopped before it submits or discards
 * the record has it discarded for it (the consumer never sees it, its space comes back), and a
 * record it did submit is delivered even if the program faults afterwards.
 */
class RingBufferUnwindTest {
    private MapTable table;
    private BpfRingBuf ring;
    private HelperTable helpers;

    static List<Engine> engines() { return TestEngines.all(); }

    @BeforeEach
    void createRing() throws Exception {
        table = new MapTable(new SharedRegions(), 1);
        ring = (BpfRingBuf) table.create(MapSpec.of("events", MapSpec.RINGBUF, 0, 0, 4096, 0));
        helpers = MapHelpers.register(HelperTable.builder(), table).build();
    }

    @AfterEach
    void close() {
        table.close(ring);
    }

    /** Reserves 16 bytes (r6 = the record), writes 42 into it, optionally submits it, then ends with {@code tail}. */
    private Code program(boolean submit, io.kflex.isa.Instruction... tail) {
        List<io.kflex.isa.Instruction> insns = new java.util.ArrayList<>(List.of(
                lddw(1, ring.handle()), mov(2, 16), mov(3, 0), call(MapHelpers.RINGBUF_RESERVE),
                movr(6, 0), jmp(JumpOp.JNE, 0, 0, 2), mov(0, 1), exit(),
                st(Size.DW, 6, 0, 42)));
        if (submit) insns.addAll(List.of(movr(1, 6), mov(2, 0), call(MapHelpers.RINGBUF_SUBMIT)));
        insns.addAll(List.of(tail));
        return code(insns);
    }

    private static io.kflex.isa.Instruction[] nullDereference() {
        return new io.kflex.isa.Instruction[] {mov(2, 0), ldx(Size.DW, 0, 2, 0), exit()};
    }

    private static io.kflex.isa.Instruction[] spin() {
        return new io.kflex.isa.Instruction[] {mov(0, 0), add(0, 1), ja(-2)};
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aRecordHeldAtACancellationIsDiscarded(Engine e) throws Exception {
        Invocation inv = new Invocation(new AddressSpace(table.regions()));
        inv.requestCancel("budget");
        Outcome o = Runs.load(e, program(false, spin()), helpers).run(inv);
        assertThat(o).isInstanceOf(Outcome.Cancelled.class);
        assertThat(((Outcome.Cancelled) o).released()).singleElement().asString().startsWith("ringbuf_record events+0x");
        assertThat(ring.consumer().poll(Duration.ZERO)).isEmpty();
        assertThat(ring.query(BpfRingBuf.RB_AVAIL_DATA)).isZero();
        assertThat(ring.reserve(4096 - 8, 0)).as("the whole ring is free").isNotZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aRecordHeldAtAFaultIsDiscarded(Engine e) throws Exception {
        Outcome o = Runs.load(e, program(false, nullDereference()), helpers).run(new Invocation(new AddressSpace(table.regions())));
        assertThat(o).isInstanceOf(Outcome.Faulted.class);
        assertThat(ring.consumer().poll(Duration.ZERO)).isEmpty();
        assertThat(ring.query(BpfRingBuf.RB_AVAIL_DATA)).isZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aSubmittedRecordIsDeliveredEvenIfTheProgramFaultsLater(Engine e) throws Exception {
        Outcome o = Runs.load(e, program(true, nullDereference()), helpers).run(new Invocation(new AddressSpace(table.regions())));
        assertThat(o).isInstanceOf(Outcome.Faulted.class);
        byte[] record = ring.consumer().poll(Duration.ZERO).orElseThrow();
        assertThat(record).hasSize(16);
        assertThat(record[0]).isEqualTo((byte) 42);
    }
}
