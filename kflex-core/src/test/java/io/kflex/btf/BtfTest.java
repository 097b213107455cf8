package io.kflex.btf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.elf.ElfFile;
import io.kflex.loader.LoadException;
import io.kflex.loader.TestObjects;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BtfTest {

    private static Btf sampleBtf() throws LoadException {
        ElfFile elf = ElfFile.parse(TestObjects.bytes("sample.o"));
        return Btf.parse(elf.contents(elf.section(".BTF").orElseThrow()));
    }

    private static BtfExt sampleBtfExt(Btf btf) throws LoadException {
        ElfFile elf = ElfFile.parse(TestObjects.bytes("sample.o"));
        return BtfExt.parse(elf.contents(elf.section(".BTF.ext").orElseThrow()), btf);
    }

    @Test
    void readsTheTypesOfAClangObject() throws Exception {
        Btf btf = sampleBtf();
        int value = btf.find(BtfKind.STRUCT, "value").orElseThrow();
        BtfType.Struct struct = (BtfType.Struct) btf.type(value);
        assertThat(struct.members()).extracting(BtfType.Member::name).containsExactly("packets", "bytes", "pad");
        assertThat(struct.members()).extracting(BtfType.Member::bitOffset).containsExactly(0L, 64L, 96L);
        assertThat(btf.sizeOf(value)).isEqualTo(16);
        assertThat(btf.sizeOf(struct.members().get(1).type())).as("__u32 through its typedef").isEqualTo(4);
        int count = btf.find(BtfKind.FUNC, "count").orElseThrow();
        BtfType.Func func = (BtfType.Func) btf.type(count);
        assertThat(func.linkage()).isEqualTo(1);
        BtfType.FuncProto proto = (BtfType.FuncProto) btf.type(func.type());
        assertThat(proto.params()).extracting(BtfType.Param::name).containsExactly("ctx");
        BtfType.DataSec maps = (BtfType.DataSec) btf.type(btf.find(BtfKind.DATASEC, ".maps").orElseThrow());
        assertThat(maps.vars()).extracting(v -> {
            try {
                return btf.type(v.type()).name();
            } catch (LoadException e) {
                throw new AssertionError(e);
            }
        }).containsExactly("jumps", "counters", "outer");
        // `const volatile __u32 limit`: the modifiers resolve to the typedef's target, an unsigned int.
        int limitVar = btf.find(BtfKind.VAR, "limit").orElseThrow();
        int limitType = btf.skipModifiers(((BtfType.Var) btf.type(limitVar)).type());
        assertThat(btf.type(limitType)).isEqualTo(new BtfType.Int("unsigned int", 4, false, false, false, 0, 32));
        assertThat(btf.sizeOf(limitVar)).isEqualTo(4);
    }

    @Test
    void readsLineInfoWithSourceText() throws Exception {
        Btf btf = sampleBtf();
        BtfExt ext = sampleBtfExt(btf);
        assertThat(ext.lineInfo("xdp")).first().isEqualTo(
                new LineInfo(0, "./sample.c", 73, 20, "\treturn twice(ctx->rx_queue_index) + bpf_kflex_probe(1);"));
        assertThat(ext.lineInfo(".text")).extracting(LineInfo::line).contains(50, 55);
        assertThat(ext.funcInfo("xdp")).extracting(FuncInfo::slot, FuncInfo::name)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0, "tail"), org.assertj.core.groups.Tuple.tuple(7, "count"));
        assertThat(ext.funcInfo(".text")).extracting(FuncInfo::name).containsExactly("helper_global", "twice");
        assertThat(ext.lineInfo("nonexistent")).isEmpty();
    }

    @Test
    void detectsATypedefCycle() {
        BtfBuilder b = new BtfBuilder();
        b.typedef("a", 2); // [1] -> [2]
        b.constOf(1); // [2] -> [1]
        assertThatThrownBy(() -> Btf.parse(b.build())).isInstanceOf(LoadException.class)
                .hasMessageContaining("type cycle: [1] typedef a -> [2] const -> [1]");
    }

    @Test
    void detectsACycleThroughAnArray() {
        BtfBuilder b = new BtfBuilder();
        int u32 = b.intType("u32", 4); // [1]
        b.array(3, u32, 4); // [2] array of [3]
        b.typedef("loop", 2); // [3] -> [2]
        assertThatThrownBy(() -> Btf.parse(b.build())).isInstanceOf(LoadException.class).hasMessageContaining("type cycle");
    }

    @Test
    void detectsAStructThatContainsItself() {
        BtfBuilder b = new BtfBuilder();
        int u64 = b.intType("u64", 8); // [1]
        b.struct("flow", 16, "inner", 3, "value", u64); // [2] contains [3]
        b.typedef("flow_t", 2); // [3] -> [2]
        assertThatThrownBy(() -> Btf.parse(b.build())).isInstanceOf(LoadException.class)
                .hasMessageContaining("type cycle: [2] struct flow -> [3] typedef flow_t -> [2] (a type cannot contain itself)");
    }

    @Test
    void acceptsPointerCyclesAndResolvesSizes() throws Exception {
        BtfBuilder b = new BtfBuilder();
        int u64 = b.intType("u64", 8); // [1]
        int nodePtr = b.ptr(3); // [2] -> struct node
        int node = b.struct("node", 16, "next", nodePtr, "value", u64); // [3]
        int arr = b.array(node, u64, 10); // [4]
        int td = b.typedef("nodes_t", arr); // [5]
        int cst = b.constOf(td); // [6]
        Btf btf = Btf.parse(b.build());
        assertThat(btf.sizeOf(cst)).isEqualTo(160);
        assertThat(btf.sizeOf(nodePtr)).isEqualTo(8);
        assertThat(btf.skipModifiers(cst)).isEqualTo(arr);
        assertThatThrownBy(() -> btf.sizeOf(0)).isInstanceOf(LoadException.class).hasMessageContaining("has no size");
    }

    @Test
    void rejectsOutOfRangeTypeIdsAndStrings() {
        BtfBuilder ids = new BtfBuilder();
        ids.ptr(42);
        assertThatThrownBy(() -> Btf.parse(ids.build())).isInstanceOf(LoadException.class)
                .hasMessageContaining("type [1] ptr refers to type 42, out of range (2 types)");
        BtfBuilder names = new BtfBuilder();
        names.header(9999, BtfKind.TYPEDEF, 0, false, 0);
        assertThatThrownBy(() -> Btf.parse(names.build())).isInstanceOf(LoadException.class)
                .hasMessageContaining("string offset 9999 out of range of the string table");
    }

    @Test
    void rejectsAnArrayWhoseSizeOverflows() {
        BtfBuilder b = new BtfBuilder();
        int u64 = b.intType("u64", 8);
        b.array(u64, u64, 0xffff_ffffL);
        assertThatThrownBy(() -> Btf.parse(b.build())).isInstanceOf(LoadException.class).hasMessageContaining("overflows");
    }

    @Test
    void rejectsAStructWhoseMemberCountExceedsTheData() {
        BtfBuilder b = new BtfBuilder();
        b.header(0, BtfKind.STRUCT, 0xffff, false, 8);
        assertThatThrownBy(() -> Btf.parse(b.build())).isInstanceOf(LoadException.class)
                .hasMessageContaining("65535 entries of 12 bytes out of range, past end of type section");
    }

    @Test
    void rejectsBadHeaders() throws Exception {
        byte[] good = new BtfBuilder().build();
        Btf.parse(good);
        byte[] magic = good.clone();
        magic[0] = 0x12;
        assertThatThrownBy(() -> Btf.parse(magic)).isInstanceOf(LoadException.class).hasMessageContaining("bad magic");
        byte[] strLen = good.clone();
        strLen[20] = 100;
        assertThatThrownBy(() -> Btf.parse(strLen)).isInstanceOf(LoadException.class).hasMessageContaining("string section out of range: offset 0 + size 100 past end");
        assertThatThrownBy(() -> Btf.parse(Arrays.copyOf(good, 10))).isInstanceOf(LoadException.class).hasMessageContaining("shorter than the BTF header");
    }

    @Test
    void everyTruncationOfRealBtfIsALoadException() throws Exception {
        ElfFile elf = ElfFile.parse(TestObjects.bytes("sample.o"));
        byte[] data = elf.contents(elf.section(".BTF").orElseThrow());
        for (int length = 0; length < data.length; length++) {
            byte[] truncated = Arrays.copyOf(data, length);
            assertThatThrownBy(() -> Btf.parse(truncated)).as("truncated at %d", length).isInstanceOf(LoadException.class);
        }
    }
}
