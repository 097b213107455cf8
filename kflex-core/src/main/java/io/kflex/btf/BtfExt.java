package io.kflex.btf;

import io.kflex.elf.Bytes;
import io.kflex.loader.LoadException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed {@code .BTF.ext} section: per ELF section, which BTF function starts at which
 * instruction and which source line each instruction came from. Offsets in the object file are in
 * bytes; here they are instruction slots relative to the section. CO-RE relocation records are not
 * read (the host has no kernel types to relocate against).
 */
public final class BtfExt {
    private static final int MIN_HEADER_SIZE = 24;

    private final Map<String, List<FuncInfo>> funcInfo;
    private final Map<String, List<LineInfo>> lineInfo;

    private BtfExt(Map<String, List<FuncInfo>> funcInfo, Map<String, List<LineInfo>> lineInfo) {
        this.funcInfo = funcInfo;
        this.lineInfo = lineInfo;
    }

    public static BtfExt parse(byte[] data, Btf btf) throws LoadException {
        Bytes in = new Bytes(data, ".BTF.ext");
        if (data.length < MIN_HEADER_SIZE) throw new LoadException(".BTF.ext: " + data.length + " bytes, shorter than its header (24 bytes)");
        int magic = in.u16(0, "magic");
        if (magic != Btf.MAGIC) throw new LoadException(String.format(".BTF.ext: bad magic 0x%04x", magic));
        int version = in.u8(2, "version");
        if (version != 1) throw new LoadException(".BTF.ext: unsupported version " + version);
        long headerLength = in.u32(4, "hdr_len");
        if (headerLength < MIN_HEADER_SIZE || headerLength > data.length) {
            throw new LoadException(".BTF.ext: header length " + headerLength + " out of range [24, " + data.length + "]");
        }
        Map<String, List<FuncInfo>> funcs = new LinkedHashMap<>();
        Map<String, List<LineInfo>> lines = new LinkedHashMap<>();
        readInfo(in, btf, headerLength, in.u32(8, "func_info_off"), in.u32(12, "func_info_len"), "func info", 8, (section, off, record) -> {
            long typeId = in.u32(record + 4, "func info type");
            if (typeId >= btf.typeCount() || !(btf.type((int) typeId) instanceof BtfType.Func f)) {
                throw new LoadException(".BTF.ext: func info for section " + section + " at offset " + off + " names type " + typeId + ", which is not a FUNC");
            }
            funcs.computeIfAbsent(section, k -> new ArrayList<>()).add(new FuncInfo(slot(section, off), (int) typeId, f.name()));
        });
        readInfo(in, btf, headerLength, in.u32(16, "line_info_off"), in.u32(20, "line_info_len"), "line info", 16, (section, off, record) -> {
            String file = btf.string(in.u32(record + 4, "line info file_name_off"));
            String source = btf.string(in.u32(record + 8, "line info line_off"));
            long lineCol = in.u32(record + 12, "line info line_col");
            lines.computeIfAbsent(section, k -> new ArrayList<>())
                    .add(new LineInfo(slot(section, off), file, (int) (lineCol >>> 10), (int) (lineCol & 0x3ff), source));
        });
        funcs.replaceAll((k, v) -> List.copyOf(v));
        lines.replaceAll((k, v) -> List.copyOf(v));
        return new BtfExt(Collections.unmodifiableMap(funcs), Collections.unmodifiableMap(lines));
    }

    private static int slot(String section, long byteOffset) throws LoadException {
        if (byteOffset % 8 != 0) throw new LoadException(".BTF.ext: record for section " + section + " at byte offset " + byteOffset + " is not on an instruction boundary");
        return (int) (byteOffset / 8);
    }

    @FunctionalInterface
    private interface RecordReader {
        void read(String section, long instructionOffset, long recordPosition) throws LoadException;
    }

    /**
     * Reads one info subsection: a record size, then per ELF section its name, a record count and the
     * records. Every count is checked against the bytes left before anything is read.
     */
    private static void readInfo(Bytes in, Btf btf, long headerLength, long off, long len, String what, int minRecordSize, RecordReader reader)
            throws LoadException {
        if (len == 0) return;
        long body = in.length() - headerLength;
        if (off > body || len > body - off) {
            throw new LoadException(".BTF.ext: " + what + " out of range: offset " + off + " + size " + len + " past end of .BTF.ext (" + body + " bytes after the header)");
        }
        long position = headerLength + off;
        long end = position + len;
        if (len < 4) throw new LoadException(".BTF.ext: " + what + " too short for its record size");
        long recordSize = in.u32(position, what + " record size");
        position += 4;
        if (recordSize < minRecordSize || recordSize > 1024 || recordSize % 4 != 0) {
            throw new LoadException(".BTF.ext: " + what + " record size " + recordSize + " is not supported (expected at least " + minRecordSize + ")");
        }
        while (position < end) {
            if (end - position < 8) throw new LoadException(".BTF.ext: " + what + " truncated section header");
            String section = btf.string(in.u32(position, what + " sec_name_off"));
            long count = in.u32(position + 4, what + " num_info");
            position += 8;
            if (count == 0) throw new LoadException(".BTF.ext: " + what + " for section " + section + " has no records");
            if (count > (end - position) / recordSize) {
                throw new LoadException(".BTF.ext: " + what + " for section " + section + ": " + count + " records of " + recordSize + " bytes out of range, past end of the subsection");
            }
            for (long i = 0; i < count; i++) {
                reader.read(section, in.u32(position, what + " insn_off"), position);
                position += recordSize;
            }
        }
    }

    /** Function starts per ELF section name, in file order. */
    public List<FuncInfo> funcInfo(String section) { return funcInfo.getOrDefault(section, List.of()); }

    /** Line records per ELF section name, in file order (ascending slots). */
    public List<LineInfo> lineInfo(String section) { return lineInfo.getOrDefault(section, List.of()); }

    public Map<String, List<FuncInfo>> allFuncInfo() { return funcInfo; }

    public Map<String, List<LineInfo>> allLineInfo() { return lineInfo; }
}
