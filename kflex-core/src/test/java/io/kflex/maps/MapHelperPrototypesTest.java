package io.kflex.maps;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.helpers.HelperPrototypes;
import io.kflex.helpers.HelperTable;
import io.kflex.helpers.MapHelpers;
import io.kflex.helpers.StandardHelpers;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.isa.Size;
import io.kflex.loader.ProgramType;
import io.kflex.verifier.VerificationException;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The verifier knows every helper the map and standard helper sets implement, with Linux's argument rules. */
class MapHelperPrototypesTest {
    private static final List<MapSpec> MAPS = List.of(MapSpec.of("h", MapSpec.HASH, 4, 8, 16, 0), MapSpec.of("q", MapSpec.QUEUE, 0, 8, 4, 0),
            MapSpec.of("rb", MapSpec.RINGBUF, 0, 0, 4096, 0));

    @Test
    void everyImplementedHelperHasAPrototype() {
        HelperTable table = MapHelpers.register(StandardHelpers.register(HelperTable.builder()), new MapTable(new io.kflex.engine.SharedRegions(), 1)).build();
        assertThat(table.all().keySet()).allSatisfy(id -> assertThat(HelperPrototypes.find(id)).as("helper %d", id).isPresent());
        assertThat(table.all().keySet()).contains(1, 2, 3, 5, 6, 7, 8, 12, 87, 88, 89, 125, 130, 131, 132, 133, 134, 164, 181);
    }

    /** for_each_map_elem over map 0 with a callback whose body is {@code callback}. */
    private static Code forEach(Instruction... callback) {
        List<Instruction> insns = new java.util.ArrayList<>(List.of(
                /* 0 */ st(Size.DW, 10, -8, 0),
                /* 1 */ lddwPseudo(1, LoadImm64.MAP_IDX, 0),
                /* 3 */ lddwFunc(2, 6),   // -> 10
                /* 5 */ movr(3, 10),
                /* 6 */ add(3, -8),
                /* 7 */ mov(4, 0),
                /* 8 */ call(164),
                /* 9 */ exit()));
        insns.addAll(List.of(callback));
        insns.add(mov(0, 0));
        insns.add(exit());
        return code(insns);
    }

    private static void verify(Code code) throws VerificationException {
        Verifier.verify(code, ProgramType.SYSCALL, MAPS, VerifierOptions.defaults());
    }

    @Test
    void forEachCallbacksGetTheMapKeyValueAndContext() {
        assertThatCode(() -> verify(forEach(
                ldx(Size.W, 5, 2, 0),          // read the key
                ldx(Size.DW, 6, 3, 0),         // read the value
                stx(Size.DW, 3, 6, 0),         // write the value
                ldx(Size.DW, 7, 4, 0),         // read the context (caller's stack)
                addr(7, 6),
                stx(Size.DW, 4, 7, 0)))).doesNotThrowAnyException();
        assertThatThrownBy(() -> verify(forEach(st(Size.W, 2, 0, 1)))).as("keys are read-only")
                .isInstanceOf(VerificationException.class).hasMessageContaining("map key");
        assertThatThrownBy(() -> verify(forEach(ldx(Size.DW, 6, 3, 8)))).as("past the value")
                .isInstanceOf(VerificationException.class).hasMessageContaining("map value");
    }

    @Test
    void popAndPeekMayFillUninitialisedStackButPushReadsInitialisedMemory() {
        // pop into an uninitialised slot, then read it.
        assertThatCode(() -> verify(code(lddwPseudo(1, LoadImm64.MAP_IDX, 1), movr(2, 10), add(2, -8), call(88),
                ldx(Size.DW, 0, 10, -8), exit()))).doesNotThrowAnyException();
        assertThatThrownBy(() -> verify(code(lddwPseudo(1, LoadImm64.MAP_IDX, 1), movr(2, 10), add(2, -8), mov(3, 0), call(87),
                exit()))).isInstanceOf(VerificationException.class);
    }

    @Test
    void ringBufferQueryTakesARingBufferOnly() {
        assertThatCode(() -> verify(code(lddwPseudo(1, LoadImm64.MAP_IDX, 2), mov(2, 0), call(134), exit()))).doesNotThrowAnyException();
        assertThatThrownBy(() -> verify(code(lddwPseudo(1, LoadImm64.MAP_IDX, 0), mov(2, 0), call(134), exit())))
                .isInstanceOf(VerificationException.class);
    }
}
