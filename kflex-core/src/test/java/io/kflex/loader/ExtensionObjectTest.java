package io.kflex.loader;

import static io.kflex.loader.TestObjects.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.btf.FuncInfo;
import io.kflex.btf.LineInfo;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.AluOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import io.kflex.maps.MapSpec;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExtensionObjectTest {
    private static final KfuncResolver PROBE_ONLY = KfuncResolver.of(Map.of("bpf_kflex_probe", 77));

    private static ExtensionObject sample() throws LoadException {
        return ExtensionObject.parse(bytes("sample.o"), "sample.o", PROBE_ONLY);
    }

    @Test
    void loadsBtfMapsInDeclarationOrderThenGlobalData() throws Exception {
        ExtensionObject obj = sample();
        assertThat(obj.license()).isEqualTo("GPL");
        assertThat(obj.maps()).extracting(ObjectMap::name).containsExactly("jumps", "counters", "outer", ".data", ".rodata", ".bss");

        MapSpec counters = obj.maps().get(1).spec();
        assertThat(counters.type()).isEqualTo(MapSpec.HASH);
        assertThat(counters.keySize()).isEqualTo(4);
        assertThat(counters.valueSize()).isEqualTo(16);
        assertThat(counters.maxEntries()).isEqualTo(1024);
        assertThat(counters.btfKeyTypeId()).isPositive();
        assertThat(obj.btf().orElseThrow().type(counters.btfValueTypeId()).name()).isEqualTo("value");

        ObjectMap jumps = obj.maps().get(0);
        assertThat(jumps.spec().type()).isEqualTo(MapSpec.PROG_ARRAY);
        assertThat(jumps.spec().valueSize()).isEqualTo(4);
        assertThat(jumps.spec().maxEntries()).isEqualTo(4);
        assertThat(jumps.initialSlots()).containsExactly(Map.entry(2, "tail"));

        MapSpec outer = obj.maps().get(2).spec();
        assertThat(outer.type()).isEqualTo(MapSpec.ARRAY_OF_MAPS);
        assertThat(outer.maxEntries()).isEqualTo(8);
        assertThat(outer.valueSize()).isEqualTo(4);
        assertThat(outer.innerMap().type()).isEqualTo(MapSpec.ARRAY);
        assertThat(outer.innerMap().maxEntries()).isEqualTo(4);
        assertThat(outer.innerMap().valueSize()).isEqualTo(8);
        assertThat(obj.heap()).isEmpty();
        assertThat(obj.mapSpecs()).extracting(MapSpec::name).containsExactly("jumps", "counters", "outer", ".data", ".rodata", ".bss");
        assertThat(obj.mapIndex("outer")).isEqualTo(2);
        assertThat(obj.mapIndex("nope")).isEqualTo(-1);
    }

    @Test
    void globalDataSectionsBecomeSingleEntryArraysWithTheirContents() throws Exception {
        ExtensionObject obj = sample();
        ObjectMap data = obj.map(".data").orElseThrow();
        assertThat(data.origin()).isEqualTo(ObjectMap.Origin.GLOBAL_DATA);
        assertThat(data.spec()).extracting(MapSpec::type, MapSpec::keySize, MapSpec::valueSize, MapSpec::maxEntries, MapSpec::flags)
                .containsExactly(MapSpec.ARRAY, 4, 4, 1, MapSpec.F_MMAPABLE);
        assertThat(data.initialData()).containsExactly(7, 0, 0, 0);
        ObjectMap rodata = obj.map(".rodata").orElseThrow();
        assertThat(rodata.spec().flags()).isEqualTo(MapSpec.F_MMAPABLE | MapSpec.F_RDONLY_PROG);
        assertThat(rodata.spec().readOnlyForProgram()).isTrue();
        assertThat(rodata.initialData()).containsExactly(42, 0, 0, 0);
        ObjectMap bss = obj.map(".bss").orElseThrow();
        assertThat(bss.initialData()).containsExactly(new byte[8]);
        assertThat(obj.map("counters").orElseThrow().initialData()).isNull();
    }

    @Test
    void programsOfASectionAreItsFunctions() throws Exception {
        ExtensionObject obj = sample();
        assertThat(obj.programs()).extracting(Program::name, Program::section, Program::type).containsExactly(
                org.assertj.core.groups.Tuple.tuple("tail", "xdp", ProgramType.XDP),
                org.assertj.core.groups.Tuple.tuple("count", "xdp", ProgramType.XDP),
                org.assertj.core.groups.Tuple.tuple("probe", "syscall", ProgramType.SYSCALL));
    }

    @Test
    void linksStaticSubprogramsAfterTheProgramAndFixesCallOffsets() throws Exception {
        Program tail = sample().program("tail");
        // tail is 7 instructions; twice (6 slots, one lddw) is appended once at slot 7.
        assertThat(tail.code().length()).isEqualTo(13);
        assertThat(tail.code().at(0)).isEqualTo(new Load(Size.W, false, 1, 1, (short) 16));
        assertThat(tail.code().at(1)).isEqualTo(Call.local(5));
        assertThat(tail.code().branchTarget(1)).isEqualTo(7);
        assertThat(tail.code().at(4)).as("strong kfunc resolved by name").isEqualTo(Call.kfunc(77));
        assertThat(tail.code().at(7)).isEqualTo(new Alu(false, AluOp.LSH, 1, Operand.imm(1)));
        assertThat(tail.code().at(8)).as("limit in .rodata (map 4), offset 0")
                .isEqualTo(new LoadImm64(2, LoadImm64.MAP_IDX_VALUE, 4, 0));
        assertThat(tail.mapIndexes()).containsExactly(4);
        assertThat(tail.funcInfo()).extracting(FuncInfo::slot, FuncInfo::name)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0, "tail"), org.assertj.core.groups.Tuple.tuple(7, "twice"));
    }

    @Test
    void linksGlobalSubprogramsTransitively() throws Exception {
        Program count = sample().program("count");
        // count (27 slots) calls helper_global (3 slots, appended at 27), which calls twice (appended at 30).
        assertThat(count.code().length()).isEqualTo(36);
        assertThat(count.code().branchTarget(17)).isEqualTo(27);
        assertThat(count.code().at(27)).isInstanceOf(Call.class);
        assertThat(count.code().branchTarget(27)).isEqualTo(30);
        assertThat(count.code().at(4)).as("&counters").isEqualTo(new LoadImm64(1, LoadImm64.MAP_IDX, 1, 0));
        assertThat(count.code().at(11)).as("&hits in .data").isEqualTo(new LoadImm64(1, LoadImm64.MAP_IDX_VALUE, 3, 0));
        assertThat(count.code().at(20)).as("&zeroed in .bss").isEqualTo(new LoadImm64(2, LoadImm64.MAP_IDX_VALUE, 5, 0));
        assertThat(count.code().at(6)).isEqualTo(Call.helper(1));
        assertThat(count.mapIndexes()).containsExactly(1, 3, 4, 5);
        assertThat(count.funcInfo()).extracting(FuncInfo::name).containsExactly("count", "helper_global", "twice");
    }

    @Test
    void lineInfoFollowsInstructionsIntoAppendedSubprograms() throws Exception {
        Program count = sample().program("count");
        assertThat(count.lineAt(4)).get().extracting(LineInfo::file, LineInfo::line, LineInfo::column, LineInfo::source)
                .containsExactly("./sample.c", 62, 20, "\tstruct value *v = bpf_map_lookup_elem(&counters, &key);");
        assertThat(count.lineAt(5)).as("second slot of lddw: same line").get().extracting(LineInfo::line).isEqualTo(62);
        assertThat(count.lineAt(27)).get().extracting(LineInfo::line, LineInfo::source).containsExactly(55, "\treturn twice(x) + 1;");
        assertThat(count.lineAt(31)).get().extracting(LineInfo::line).isEqualTo(50);
        assertThat(count.lineInfo()).allSatisfy(l -> assertThat(l.slot()).isBetween(0, 35));
        assertThat(count.functionAt(33)).get().extracting(FuncInfo::name).isEqualTo("twice");
    }

    @Test
    void missingWeakKfuncResolvesToZero() throws Exception {
        Program probe = sample().program("probe");
        assertThat(probe.code().at(0)).isEqualTo(new LoadImm64(1, LoadImm64.PLAIN, 0, 0));
        assertThat(probe.code().at(4)).isEqualTo(Call.kfunc(0));
        assertThat(probe.code().at(6)).isEqualTo(new LoadImm64(1, LoadImm64.MAP_IDX_VALUE, 4, 0));
    }

    @Test
    void presentWeakKfuncResolvesToItsId() throws Exception {
        ExtensionObject obj = ExtensionObject.parse(bytes("sample.o"), "sample.o",
                KfuncResolver.of(Map.of("bpf_kflex_probe", 77, "bpf_kflex_maybe", 78)));
        Program probe = obj.program("probe");
        assertThat(probe.code().at(0)).isEqualTo(new LoadImm64(1, LoadImm64.BTF_ID, 78, 0));
        assertThat(probe.code().at(4)).isEqualTo(Call.kfunc(78));
    }

    @Test
    void unresolvedStrongExternIsAnErrorNamingIt() {
        assertThatThrownBy(() -> ExtensionObject.parse(bytes("sample.o"), "sample.o", KfuncResolver.NONE))
                .isInstanceOf(LoadException.class)
                .hasMessageContaining("sample.o:")
                .hasMessageContaining("unresolved extern bpf_kflex_probe");
    }

    @Test
    void unknownProgramNameListsTheAvailableOnes() throws Exception {
        ExtensionObject obj = sample();
        assertThatThrownBy(() -> obj.program("nope")).isInstanceOf(LoadException.class)
                .hasMessageContaining("no program named 'nope' (available: tail, count, probe)");
    }

    @Test
    void callbacksLegacyMapsCustomDataSectionsAndTheHeap() throws Exception {
        ExtensionObject obj = ExtensionObject.parse(bytes("callback.o"), "callback.o", KfuncResolver.NONE);
        assertThat(obj.license()).isEqualTo("Dual BSD/GPL");
        assertThat(obj.maps()).extracting(ObjectMap::name)
                .containsExactly("legacy_array", "legacy_hash", "heap", ".data.table", ".rodata.greeting");
        assertThat(obj.maps().get(1).spec()).isEqualTo(MapSpec.of("legacy_hash", MapSpec.HASH, 8, 16, 128, 1));
        assertThat(obj.maps().get(1).origin()).isEqualTo(ObjectMap.Origin.LEGACY);
        assertThat(obj.heap()).contains(new HeapDeclaration("heap", 2, 16 * 4096, 1L << 44));
        assertThat(obj.maps().get(2).spec().flags()).isEqualTo(MapSpec.F_MMAPABLE);
        assertThat(obj.map(".data.table").orElseThrow().initialData()).containsExactly(1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0);
        assertThat(obj.map(".rodata.greeting").orElseThrow().initialData()).containsExactly('h', 'e', 'l', 'l', 'o', 0);
        assertThat(obj.map(".rodata.greeting").orElseThrow().spec().readOnlyForProgram()).isTrue();

        Program loop = obj.program("loop");
        assertThat(loop.code().length()).isEqualTo(31);
        // bpf_loop(4, step, ...): the callback address is a pseudo-func lddw pointing at the appended `step`.
        LoadImm64 callback = (LoadImm64) loop.code().at(5);
        assertThat(callback.pseudo()).isEqualTo(LoadImm64.FUNC);
        assertThat(5 + 1 + callback.imm()).isEqualTo(20);
        assertThat(loop.code().at(11)).isEqualTo(new LoadImm64(1, LoadImm64.MAP_IDX, 0, 0));
        assertThat(loop.code().at(22)).isEqualTo(new LoadImm64(3, LoadImm64.MAP_IDX_VALUE, 3, 0));
        assertThat(loop.funcInfo()).extracting(FuncInfo::slot, FuncInfo::name)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0, "loop"), org.assertj.core.groups.Tuple.tuple(20, "step"));
        assertThat(loop.mapIndexes()).containsExactly(0, 3);
    }

    @Test
    void handWrittenAssemblyWithoutFunctionSizesLoads() throws Exception {
        ExtensionObject obj = ExtensionObject.parse(bytes("handwritten.o"), "handwritten.o", KfuncResolver.NONE);
        assertThat(obj.programs()).extracting(Program::name).containsExactly("entry", "local");
        Program entry = obj.program("entry");
        // entry (5 slots), then `local` (same section, unrelocated call), then `add_one` from .text.
        assertThat(entry.code().length()).isEqualTo(10);
        assertThat(entry.code().branchTarget(1)).isEqualTo(5);
        assertThat(entry.code().branchTarget(3)).isEqualTo(7);
        assertThat(entry.code().at(8)).isEqualTo(new Alu(true, AluOp.ADD, 0, Operand.imm(1)));
        assertThat(obj.program("local").code().length()).isEqualTo(2);
        assertThat(entry.lineInfo()).as("no BTF").isEmpty();
        assertThat(obj.btf()).isEmpty();
    }

    @Test
    void unknownProgramSectionIsAClearError() {
        assertThatThrownBy(() -> ExtensionObject.parse(bytes("unknown_section.o"), "unknown_section.o", KfuncResolver.NONE))
                .isInstanceOf(LoadException.class)
                .hasMessageContaining("section kprobe/do_sys_open: unknown program type");
    }

    @Test
    void openReadsFilesAndReportsMissingOnes(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("sample.o");
        java.nio.file.Files.write(file, bytes("sample.o"));
        assertThat(ExtensionObject.open(file, PROBE_ONLY).programs()).hasSize(3);
        assertThatThrownBy(() -> ExtensionObject.open(dir.resolve("missing.o"), PROBE_ONLY))
                .isInstanceOf(LoadException.class).hasMessageContaining("cannot read").hasMessageContaining("missing.o");
    }
}
