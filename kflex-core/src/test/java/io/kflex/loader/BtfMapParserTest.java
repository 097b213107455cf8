package io.kflex.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.btf.Btf;
import io.kflex.btf.BtfBuilder;
import io.kflex.btf.BtfKind;
import io.kflex.maps.MapSpec;
import org.junit.jupiter.api.Test;

/** Map definitions encoded as bpf_helpers.h encodes them, built type by type. */
class BtfMapParserTest {

    /** {@code __uint(name, value)}: a pointer to an array of {@code value} ints. */
    private static int uint(BtfBuilder b, int intType, long value) {
        return b.ptr(b.array(intType, intType, value));
    }

    @Test
    void readsUintFieldsExplicitSizesAndAnUlongMapExtra() throws Exception {
        BtfBuilder b = new BtfBuilder();
        int i32 = b.intType("int", 4);
        int type = uint(b, i32, MapSpec.ARENA);
        int entries = uint(b, i32, 100);
        int flags = uint(b, i32, MapSpec.F_MMAPABLE);
        // __ulong(map_extra, 1 << 44): an anonymous enum64 with a single enumerator.
        int extra = b.header(0, BtfKind.ENUM64, 1, false, 8);
        b.word(b.string("__unique_value0"));
        b.word(0);
        b.word(1 << 12);
        int def = b.struct("", 32, "type", type, "max_entries", entries, "map_flags", flags, "map_extra", extra);
        Btf btf = Btf.parse(b.build());
        MapSpec spec = new BtfMapParser(btf).parse("heap", def, false).spec();
        assertThat(spec).isEqualTo(new MapSpec("heap", MapSpec.ARENA, 0, 0, 100, MapSpec.F_MMAPABLE, 1L << 44, null, 0, 0));
    }

    @Test
    void keyAndValueTypesGiveSizesAndTypeIds() throws Exception {
        BtfBuilder b = new BtfBuilder();
        int i32 = b.intType("int", 4);
        int u64 = b.intType("u64", 8);
        int pair = b.struct("pair", 16, "a", u64, "b", u64);
        int def = b.struct("", 32, "type", uint(b, i32, MapSpec.HASH), "key", b.ptr(u64), "value", b.ptr(pair),
                "max_entries", uint(b, i32, 10));
        MapSpec spec = new BtfMapParser(Btf.parse(b.build())).parse("m", def, false).spec();
        assertThat(spec).isEqualTo(new MapSpec("m", MapSpec.HASH, 8, 16, 10, 0, 0, null, u64, pair));
    }

    @Test
    void rejectsContradictoryKeySizesUnknownFieldsAndMissingTypes() throws Exception {
        BtfBuilder b = new BtfBuilder();
        int i32 = b.intType("int", 4);
        int u64 = b.intType("u64", 8);
        int contradictory = b.struct("", 24, "type", uint(b, i32, MapSpec.HASH), "key_size", uint(b, i32, 4), "key", b.ptr(u64));
        int unknown = b.struct("", 16, "type", uint(b, i32, MapSpec.HASH), "colour", uint(b, i32, 3));
        int untyped = b.struct("", 8, "max_entries", uint(b, i32, 3));
        int notUint = b.struct("", 8, "type", i32);
        Btf btf = Btf.parse(b.build());
        BtfMapParser parser = new BtfMapParser(btf);
        assertThatThrownBy(() -> parser.parse("c", contradictory, false)).isInstanceOf(LoadException.class)
                .hasMessageContaining("map c: field 'key': size 8 contradicts the earlier size 4");
        assertThatThrownBy(() -> parser.parse("u", unknown, false)).isInstanceOf(LoadException.class)
                .hasMessageContaining("map u: field 'colour' is not a known map attribute");
        assertThatThrownBy(() -> parser.parse("t", untyped, false)).isInstanceOf(LoadException.class).hasMessageContaining("map t: no 'type'");
        assertThatThrownBy(() -> parser.parse("n", notUint, false)).isInstanceOf(LoadException.class)
                .hasMessageContaining("map n: field 'type' is not declared with __uint");
        assertThatThrownBy(() -> parser.parse("i", i32, false)).isInstanceOf(LoadException.class)
                .hasMessageContaining("map i: definition is not a struct");
    }

    @Test
    void aMapOfMapsNeedsAnInnerTemplate() throws Exception {
        BtfBuilder b = new BtfBuilder();
        int i32 = b.intType("int", 4);
        int outer = b.struct("", 16, "type", uint(b, i32, MapSpec.HASH_OF_MAPS), "max_entries", uint(b, i32, 2));
        Btf btf = Btf.parse(b.build());
        assertThatThrownBy(() -> new BtfMapParser(btf).parse("o", outer, false)).isInstanceOf(LoadException.class)
                .hasMessageContaining("map of maps without an inner map template");
    }
}
