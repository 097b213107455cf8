package io.kflex.loader;

import io.kflex.btf.Btf;
import io.kflex.btf.BtfExt;
import io.kflex.btf.BtfKind;
import io.kflex.btf.BtfType;
import io.kflex.btf.FuncInfo;
import io.kflex.btf.LineInfo;
import io.kflex.elf.ElfFile;
import io.kflex.elf.ElfRelocation;
import io.kflex.elf.ElfSection;
import io.kflex.elf.ElfSymbol;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.maps.MapSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.*;

/**
 * Turns an ELF object into an {@link ExtensionObject} following libbpf's conventions: maps from
 * {@code .maps} (BTF) and {@code maps} (legacy), global data sections as single-entry arrays, one
 * program per function symbol of each program section, {@code .text} functions appended to every
 * program that calls them, and relocations resolved to map indexes, map values, kfunc ids and
 * pc-relative call offsets.
 */
final class ObjectLoader {
    private static final int OPCODE_LDDW = 0x18;
    private static final int OPCODE_CALL = 0x85;
    private static final int PSEUDO_CALL = 1;
    private static final int PSEUDO_KFUNC_CALL = 2;
    private static final int MAX_GLOBAL_DATA = 1 << 24;
    /**
     * Every program gets its own copy of the subprograms it calls, so a small hostile object could
     * ask for a huge total; this bounds it (twice Linux's limit for a single program).
     */
    private static final long MAX_LINKED_SLOTS = 2L * Code.MAX_SLOTS;

    private final byte[] bytes;
    private final String name;
    private final KfuncResolver kfuncs;

    private ElfFile elf;
    private Btf btf;
    private BtfExt btfExt;
    private final List<ObjectMap> maps = new ArrayList<>();
    /** Map index by (section index, offset of the definition in that section). */
    private final Map<Long, Integer> mapAt = new HashMap<>();
    /** Map index of each global-data section. */
    private final Map<Integer, Integer> globalDataMap = new HashMap<>();
    private HeapDeclaration heap;
    private final Map<Integer, CodeSection> codeSections = new HashMap<>();

    ObjectLoader(byte[] bytes, String name, KfuncResolver kfuncs) {
        this.bytes = bytes;
        this.name = name;
        this.kfuncs = kfuncs;
    }

    ExtensionObject load() throws LoadException {
        elf = ElfFile.parse(bytes);
        Optional<ElfSection> btfSection = elf.section(".BTF");
        if (btfSection.isPresent()) btf = Btf.parse(elf.contents(btfSection.get()));
        Optional<ElfSection> extSection = elf.section(".BTF.ext");
        if (extSection.isPresent()) {
            if (btf == null) throw new LoadException(".BTF.ext without .BTF");
            btfExt = BtfExt.parse(elf.contents(extSection.get()), btf);
        }
        String license = readLicense();
        readLegacyMaps();
        readBtfMaps();
        readGlobalData();
        readCodeSections();
        List<Program> programs = new ArrayList<>();
        long linkedSlots = 0;
        for (CodeSection cs : new TreeMap<>(codeSections).values()) {
            if (cs.section.name().equals(".text")) continue;
            Optional<ProgramType> type = ProgramType.ofSection(stripAutoloadMark(cs.section.name()));
            if (type.isEmpty()) {
                throw new LoadException("section " + cs.section.name() + ": unknown program type (SEC(\"" + cs.section.name() + "\") names no supported program type)");
            }
            if (cs.functions.isEmpty()) throw new LoadException("section " + cs.section.name() + ": code without function symbols");
            for (Function f : cs.functions) {
                Program program = link(f, type.get());
                linkedSlots += program.code().length();
                if (linkedSlots > MAX_LINKED_SLOTS) {
                    throw new LoadException("programs link to more than " + MAX_LINKED_SLOTS + " instructions in total");
                }
                programs.add(program);
            }
        }
        return new ExtensionObject(name, programs, maps, Optional.ofNullable(heap), license, Optional.ofNullable(btf));
    }

    /** libbpf's {@code SEC("?xdp")}: same type, not loaded automatically; the mark is not part of the type. */
    private static String stripAutoloadMark(String section) {
        return section.startsWith("?") ? section.substring(1) : section;
    }

    private String readLicense() throws LoadException {
        Optional<ElfSection> section = elf.section("license");
        if (section.isEmpty()) return "";
        byte[] data = elf.contents(section.get());
        int end = 0;
        while (end < data.length && data[end] != 0) end++;
        return new String(data, 0, end, StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- maps

    private static long key(int section, long offset) {
        return ((long) section << 40) ^ offset;
    }

    private List<ElfSymbol> definitionsIn(ElfSection section) {
        return elf.symbols().stream()
                .filter(s -> s.sectionIndex() == section.index() && s.type() != ElfSymbol.STT_SECTION && s.type() != ElfSymbol.STT_FILE)
                .sorted(Comparator.comparingLong(ElfSymbol::value))
                .toList();
    }

    private int addMap(ObjectMap map, int section, long offset) throws LoadException {
        for (ObjectMap existing : maps) {
            if (existing.name().equals(map.name())) throw new LoadException("map " + map.name() + " is declared twice");
        }
        int index = maps.size();
        maps.add(map);
        if (section >= 0) mapAt.put(key(section, offset), index);
        if (map.spec().type() == MapSpec.ARENA) {
            if (heap != null) throw new LoadException("maps " + heap.mapName() + " and " + map.name() + ": an object can declare only one arena (heap)");
            MapSpec s = map.spec();
            heap = new HeapDeclaration(s.name(), index, (long) s.maxEntries() * HeapDeclaration.PAGE_SIZE, s.mapExtra());
        }
        return index;
    }

    /** {@code struct bpf_map_def} records in section {@code maps}, one per symbol, sized by the symbol. */
    private void readLegacyMaps() throws LoadException {
        Optional<ElfSection> found = elf.section("maps");
        if (found.isEmpty()) return;
        ElfSection section = found.get();
        byte[] data = elf.contents(section);
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        for (ElfSymbol sym : definitionsIn(section)) {
            String where = "legacy map " + sym.name();
            if (sym.value() < 0 || sym.size() < 16 || sym.value() > data.length || sym.size() > data.length - sym.value()) {
                throw new LoadException(where + ": definition out of range: offset " + sym.value() + " + size " + sym.size()
                        + " is not a bpf_map_def inside section maps (" + data.length + " bytes)");
            }
            int o = (int) sym.value();
            long type = Integer.toUnsignedLong(in.getInt(o));
            long keySize = Integer.toUnsignedLong(in.getInt(o + 4));
            long valueSize = Integer.toUnsignedLong(in.getInt(o + 8));
            long maxEntries = Integer.toUnsignedLong(in.getInt(o + 12));
            int flags = sym.size() >= 20 ? in.getInt(o + 16) : 0;
            if (keySize > Integer.MAX_VALUE || valueSize > Integer.MAX_VALUE || maxEntries > Integer.MAX_VALUE || type > Integer.MAX_VALUE) {
                throw new LoadException(where + ": size, capacity or type out of range");
            }
            MapSpec spec = MapSpec.of(sym.name(), (int) type, (int) keySize, (int) valueSize, (int) maxEntries, flags);
            addMap(new ObjectMap(spec, ObjectMap.Origin.LEGACY, section.name(), null, new TreeMap<>()), section.index(), sym.value());
        }
    }

    /** BTF-defined maps: the VARs of DATASEC {@code .maps}, each placed by the ELF symbol of the same name. */
    private void readBtfMaps() throws LoadException {
        Optional<ElfSection> found = elf.section(".maps");
        if (found.isEmpty()) return;
        ElfSection section = found.get();
        if (btf == null) throw new LoadException("section .maps: BTF-defined maps need a .BTF section");
        Optional<Integer> datasecId = btf.find(BtfKind.DATASEC, ".maps");
        if (datasecId.isEmpty()) throw new LoadException("section .maps: no DATASEC .maps in BTF");
        BtfType.DataSec datasec = (BtfType.DataSec) btf.type(datasecId.get());
        Map<String, ElfSymbol> symbols = new HashMap<>();
        for (ElfSymbol s : definitionsIn(section)) symbols.put(s.name(), s);
        BtfMapParser parser = new BtfMapParser(btf);
        record Placed(BtfMapParser.Definition def, ElfSymbol sym, int index) {}
        List<Placed> placed = new ArrayList<>();
        for (BtfType.VarSecInfo v : datasec.vars()) {
            if (!(btf.type(v.type()) instanceof BtfType.Var var)) throw new LoadException("DATASEC .maps: entry is not a variable");
            ElfSymbol sym = symbols.get(var.name());
            if (sym == null) throw new LoadException("map " + var.name() + ": no symbol in section .maps");
            if (sym.value() < 0 || sym.size() < 0 || sym.value() > section.size() || sym.size() > section.size() - sym.value()) {
                throw new LoadException("map " + var.name() + ": symbol out of range: offset " + sym.value() + " + size " + sym.size()
                        + " past end of section .maps (" + section.size() + " bytes)");
            }
            BtfMapParser.Definition def = parser.parse(var.name(), var.type(), false);
            int index = addMap(new ObjectMap(def.spec(), ObjectMap.Origin.BTF, section.name(), null, new TreeMap<>()), section.index(), sym.value());
            placed.add(new Placed(def, sym, index));
        }
        // Initial values of prog arrays and maps of maps: relocations against the `values` slots.
        for (ElfRelocation rel : elf.relocationsFor(section)) {
            Placed owner = null;
            for (Placed p : placed) {
                if (rel.offset() >= p.sym().value() && rel.offset() < p.sym().value() + Math.max(p.sym().size(), 1)) owner = p;
            }
            if (owner == null || owner.def().valuesKind() == BtfMapParser.ValuesKind.NONE) {
                throw new LoadException("section .maps: relocation at offset " + rel.offset() + " against " + rel.symbol().name() + " is not inside a map's 'values'");
            }
            if (rel.type() != ElfRelocation.R_BPF_64_ABS64 && rel.type() != ElfRelocation.R_BPF_GNU_DATA_64) {
                throw new LoadException("map " + owner.sym().name() + ": initial value relocated with " + ElfRelocation.typeName(rel.type()) + ", expected R_BPF_64_ABS64");
            }
            long relative = rel.offset() - owner.sym().value() - owner.def().valuesByteOffset();
            MapSpec spec = owner.def().spec();
            // In arrays the slot is an index below max_entries; in a hash of maps it is a key (as in
            // libbpf), bounded only by the declared `values` array the relocation lies in.
            boolean indexed = spec.type() != MapSpec.HASH_OF_MAPS;
            if (relative < 0 || relative % 8 != 0 || (indexed && relative / 8 >= spec.maxEntries())) {
                throw new LoadException("map " + spec.name() + ": initial value at offset " + rel.offset() + " is not a slot below max_entries " + spec.maxEntries());
            }
            ElfSymbol target = rel.symbol();
            String targetName = owner.def().valuesKind() == BtfMapParser.ValuesKind.PROGRAMS ? programSymbolName(spec, target) : mapSymbolName(spec, target);
            ObjectMap old = maps.get(owner.index());
            SortedMap<Integer, String> slots = new TreeMap<>(old.initialSlots());
            slots.put((int) (relative / 8), targetName);
            maps.set(owner.index(), new ObjectMap(old.spec(), old.origin(), old.section(), null, slots));
        }
    }

    private String programSymbolName(MapSpec spec, ElfSymbol target) throws LoadException {
        ElfSection s = target.undefined() ? null : sectionOf(target);
        if (target.type() != ElfSymbol.STT_FUNC || s == null || !s.executable() || s.name().equals(".text")) {
            throw new LoadException("prog array " + spec.name() + ": initial value " + target.name() + " is not a program");
        }
        return target.name();
    }

    private String mapSymbolName(MapSpec spec, ElfSymbol target) throws LoadException {
        ElfSection s = target.undefined() ? null : sectionOf(target);
        Integer index = s == null ? null : mapAt.get(key(s.index(), target.value()));
        if (index == null) throw new LoadException("map of maps " + spec.name() + ": initial value " + target.name() + " is not a map");
        return maps.get(index).name();
    }

    private ElfSection sectionOf(ElfSymbol sym) throws LoadException {
        if (sym.sectionIndex() == ElfSymbol.SHN_ABS || sym.sectionIndex() == ElfSymbol.SHN_COMMON) {
            throw new LoadException("symbol " + sym.name() + " is not defined in a section");
        }
        return elf.section(sym.sectionIndex());
    }

    private static boolean isGlobalData(ElfSection s) {
        String n = s.name();
        boolean named = n.equals(".data") || n.startsWith(".data.") || n.equals(".bss") || n.startsWith(".bss.")
                || n.equals(".rodata") || n.startsWith(".rodata.");
        return named && (s.type() == ElfSection.SHT_PROGBITS || s.type() == ElfSection.SHT_NOBITS) && !s.executable();
    }

    /** Each global-data section becomes a one-entry array whose value is the section's contents. */
    private void readGlobalData() throws LoadException {
        for (ElfSection s : elf.sections()) {
            if (!isGlobalData(s) || s.size() == 0) continue;
            if (s.size() > MAX_GLOBAL_DATA) throw new LoadException("section " + s.name() + ": " + s.size() + " bytes of global data, more than " + MAX_GLOBAL_DATA);
            boolean readOnly = s.name().startsWith(".rodata");
            int flags = MapSpec.F_MMAPABLE | (readOnly ? MapSpec.F_RDONLY_PROG : 0);
            int valueType = btf == null ? 0 : btf.find(BtfKind.DATASEC, s.name()).orElse(0);
            MapSpec spec = new MapSpec(s.name(), MapSpec.ARRAY, 4, (int) s.size(), 1, flags, 0, null, 0, valueType);
            int index = addMap(new ObjectMap(spec, ObjectMap.Origin.GLOBAL_DATA, s.name(), elf.contents(s), new TreeMap<>()), -1, 0);
            globalDataMap.put(s.index(), index);
        }
    }

    // ---------------------------------------------------------------- code

    /** A function symbol: slots {@code [start, end)} of its section. */
    private record Function(String name, CodeSection section, int start, int end) {}

    /** Something a relocation (or an unrelocated pseudo call) asks us to do to one instruction. */
    private sealed interface Fixup {}

    /** Rewrite an lddw's pseudo source and both immediates. */
    private record SetLddw(int pseudo, int imm, int nextImm) implements Fixup {}

    /** Make a call a kfunc call with this id. */
    private record KfuncCall(int id) implements Fixup {}

    /** A call or function-pointer lddw to slot {@code slot} of code section {@code section}. */
    private record LocalTarget(int section, int slot) implements Fixup {}

    private final class CodeSection {
        final ElfSection section;
        final long[] words;
        final List<Function> functions = new ArrayList<>();
        final Map<Integer, Fixup> fixups = new HashMap<>();

        CodeSection(ElfSection section, byte[] data) {
            this.section = section;
            ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            words = new long[data.length / 8];
            for (int i = 0; i < words.length; i++) words[i] = in.getLong();
        }

        /** Functions by start slot; they do not overlap (checked), so a floor lookup finds the one containing a slot. */
        final TreeMap<Integer, Function> byStart = new TreeMap<>();

        Function functionContaining(int slot) {
            Map.Entry<Integer, Function> e = byStart.floorEntry(slot);
            return e != null && slot < e.getValue().end() ? e.getValue() : null;
        }
    }

    private void readCodeSections() throws LoadException {
        for (ElfSection s : elf.sections()) {
            if (s.type() != ElfSection.SHT_PROGBITS || !s.executable() || s.size() == 0) continue;
            if (s.size() % 8 != 0) throw new LoadException("section " + s.name() + ": " + s.size() + " bytes of code, not a multiple of 8");
            if (s.size() / 8 > Code.MAX_SLOTS) throw new LoadException("section " + s.name() + ": more than " + Code.MAX_SLOTS + " instructions");
            codeSections.put(s.index(), new CodeSection(s, elf.contents(s)));
        }
        for (ElfSymbol sym : elf.symbols()) {
            if (sym.type() != ElfSymbol.STT_FUNC || sym.undefined()) continue;
            CodeSection cs = codeSections.get(sym.sectionIndex());
            if (cs == null) throw new LoadException("function " + sym.name() + " is not in a code section");
            long sectionSize = cs.section.size();
            if (sym.value() < 0 || sym.size() < 0 || sym.value() % 8 != 0 || sym.size() % 8 != 0
                    || sym.value() >= sectionSize || sym.size() > sectionSize - sym.value()) {
                throw new LoadException("function " + sym.name() + " out of range: offset " + sym.value() + " + size " + sym.size()
                        + " is not a whole number of instructions inside section " + cs.section.name() + " (" + sectionSize + " bytes)");
            }
            // Hand-written assembly may omit .size: such a function runs to the next one (fixed below).
            int end = sym.size() == 0 ? -1 : (int) ((sym.value() + sym.size()) / 8);
            cs.functions.add(new Function(sym.name(), cs, (int) (sym.value() / 8), end));
        }
        for (CodeSection cs : codeSections.values()) {
            cs.functions.sort(Comparator.comparingInt(Function::start).thenComparing(Function::name));
            for (int i = 0; i < cs.functions.size(); i++) {
                Function f = cs.functions.get(i);
                if (f.end() >= 0) continue;
                int next = i + 1 < cs.functions.size() ? cs.functions.get(i + 1).start() : cs.words.length;
                cs.functions.set(i, new Function(f.name(), cs, f.start(), next));
            }
            for (int i = 0; i < cs.functions.size(); i++) {
                Function f = cs.functions.get(i);
                if (i > 0 && cs.functions.get(i - 1).end() > f.start()) {
                    throw new LoadException("section " + cs.section.name() + ": functions " + cs.functions.get(i - 1).name() + " and " + f.name() + " overlap");
                }
                cs.byStart.put(f.start(), f);
            }
            for (ElfRelocation rel : elf.relocationsFor(cs.section)) readRelocation(cs, rel);
        }
    }

    private void readRelocation(CodeSection cs, ElfRelocation rel) throws LoadException {
        String where = "section " + cs.section.name() + ": relocation at offset " + rel.offset();
        if (rel.offset() % 8 != 0) throw new LoadException(where + " is not on an instruction boundary");
        int slot = (int) (rel.offset() / 8);
        long word = cs.words[slot];
        int opcode = (int) (word & 0xff);
        int imm = (int) (word >>> 32);
        ElfSymbol sym = rel.symbol();
        Fixup fixup;
        if (opcode == OPCODE_LDDW) {
            if (rel.type() != ElfRelocation.R_BPF_64_64) throw new LoadException(where + ": lddw relocated with " + ElfRelocation.typeName(rel.type()) + ", expected R_BPF_64_64");
            if (slot + 1 >= cs.words.length) throw new LoadException(where + ": lddw truncated at the end of the section");
            fixup = lddwFixup(where, sym, imm);
        } else if (opcode == OPCODE_CALL) {
            if (rel.type() != ElfRelocation.R_BPF_64_32) throw new LoadException(where + ": call relocated with " + ElfRelocation.typeName(rel.type()) + ", expected R_BPF_64_32");
            fixup = callFixup(where, sym, imm);
        } else {
            throw new LoadException(where + " applies to opcode " + String.format("0x%02x", opcode) + ", which is neither lddw nor call");
        }
        if (cs.fixups.put(slot, fixup) != null) throw new LoadException(where + ": instruction relocated twice");
    }

    private Fixup lddwFixup(String where, ElfSymbol sym, int imm) throws LoadException {
        if (sym.undefined()) {
            OptionalInt id = kfuncs.resolve(sym.name());
            if (id.isPresent()) return new SetLddw(LoadImm64.BTF_ID, id.getAsInt(), 0);
            if (sym.weak()) return new SetLddw(LoadImm64.PLAIN, 0, 0);
            throw new LoadException(where + ": unresolved extern " + sym.name() + " (the host provides no kfunc of that name)");
        }
        ElfSection target = sectionOf(sym);
        long offset = sym.value() + (sym.type() == ElfSymbol.STT_SECTION ? imm : 0);
        Integer map = mapAt.get(key(target.index(), offset));
        if (map != null) return new SetLddw(LoadImm64.MAP_IDX, map, 0);
        if (target.name().equals(".maps") || target.name().equals("maps")) {
            throw new LoadException(where + ": symbol " + sym.name() + " at offset " + offset + " of section " + target.name() + " is not a map");
        }
        Integer data = globalDataMap.get(target.index());
        if (data != null) {
            long valueOffset = sym.value() + imm;
            if (valueOffset < 0 || valueOffset > target.size()) {
                throw new LoadException(where + ": offset " + valueOffset + " out of range of global data " + target.name() + " (" + target.size() + " bytes)");
            }
            return new SetLddw(LoadImm64.MAP_IDX_VALUE, data, (int) valueOffset);
        }
        if (codeSections.containsKey(target.index())) {
            long byteOffset = sym.value() + imm;
            if (byteOffset % 8 != 0 || byteOffset < 0 || byteOffset >= target.size()) {
                throw new LoadException(where + ": function address " + sym.name() + "+" + imm + " is not an instruction of section " + target.name());
            }
            return new LocalTarget(target.index(), (int) (byteOffset / 8));
        }
        throw new LoadException(where + ": symbol " + sym.name() + " is in section " + target.name() + ", which holds no map, global data or code");
    }

    private Fixup callFixup(String where, ElfSymbol sym, int imm) throws LoadException {
        if (sym.undefined()) {
            OptionalInt id = kfuncs.resolve(sym.name());
            if (id.isPresent()) return new KfuncCall(id.getAsInt());
            // A missing weak kfunc becomes id 0, which the verifier rejects if the call is reachable.
            if (sym.weak()) return new KfuncCall(0);
            throw new LoadException(where + ": unresolved extern " + sym.name() + " (the host provides no kfunc of that name)");
        }
        ElfSection target = sectionOf(sym);
        if (!codeSections.containsKey(target.index()) || sym.value() % 8 != 0) {
            throw new LoadException(where + ": call to " + sym.name() + ", which is not a function in a code section");
        }
        return new LocalTarget(target.index(), checkedSlot(where, target, sym.value() / 8 + imm + 1));
    }

    private static int checkedSlot(String where, ElfSection section, long slot) throws LoadException {
        if (slot < 0 || slot >= section.size() / 8) {
            throw new LoadException(where + ": target instruction " + slot + " out of range of section " + section.name() + " (" + section.size() / 8 + " instructions)");
        }
        return (int) slot;
    }

    // ---------------------------------------------------------------- linking

    private record Unit(Function function, int base) {}

    /**
     * Lays out {@code main} and, after it, every function it reaches through calls or function
     * pointers (each once), rewriting call and pseudo-func immediates for the new layout.
     */
    private Program link(Function main, ProgramType type) throws LoadException {
        String where = "program " + main.name() + " (section " + main.section().section.name() + ")";
        long[] out = new long[0];
        int length = 0;
        Map<Function, Integer> placed = new LinkedHashMap<>();
        Deque<Unit> pending = new ArrayDeque<>();
        placed.put(main, 0);
        pending.add(new Unit(main, 0));
        length = main.end() - main.start();
        out = Arrays.copyOf(out, Math.max(16, length));
        while (!pending.isEmpty()) {
            Unit unit = pending.poll();
            Function f = unit.function();
            CodeSection cs = f.section();
            for (int s = f.start(); s < f.end(); s++) {
                int pc = unit.base() + s - f.start();
                long word = cs.words[s];
                int opcode = (int) (word & 0xff);
                int src = (int) ((word >>> 12) & 0xf);
                int imm = (int) (word >>> 32);
                Fixup fixup = cs.fixups.get(s);
                if (fixup == null && opcode == OPCODE_CALL && src == PSEUDO_CALL) {
                    fixup = new LocalTarget(cs.section.index(), checkedSlot(where + ": call at " + pc, cs.section, (long) s + 1 + imm));
                } else if (fixup == null && opcode == OPCODE_LDDW && src == LoadImm64.FUNC) {
                    fixup = new LocalTarget(cs.section.index(), checkedSlot(where + ": lddw at " + pc, cs.section, (long) s + 1 + imm));
                }
                if (fixup == null && opcode == OPCODE_LDDW && src != LoadImm64.PLAIN) {
                    // Map fds, map indexes and BTF ids only mean something once a relocation put them there.
                    throw new LoadException(where + ": lddw at " + pc + " has pseudo source " + src + " but no relocation");
                }
                if (fixup == null && opcode == OPCODE_CALL && src == PSEUDO_KFUNC_CALL) {
                    throw new LoadException(where + ": kfunc call at " + pc + " has no relocation naming the kfunc");
                }
                out[pc] = word;
                boolean wide = opcode == OPCODE_LDDW && s + 1 < f.end();
                if (wide) out[pc + 1] = cs.words[s + 1];
                switch (fixup) {
                    case null -> {}
                    case SetLddw l -> {
                        out[pc] = withSrcImm(word, l.pseudo(), l.imm());
                        if (!wide) throw new LoadException(where + ": lddw at " + pc + " truncated at the end of function " + f.name());
                        out[pc + 1] = withSrcImm(cs.words[s + 1], 0, l.nextImm());
                    }
                    case KfuncCall k -> out[pc] = withSrcImm(word & ~0xffff_0000L, PSEUDO_KFUNC_CALL, k.id());
                    case LocalTarget t -> {
                        int targetPc;
                        if (t.section() == cs.section.index() && t.slot() >= f.start() && t.slot() < f.end()) {
                            targetPc = unit.base() + t.slot() - f.start();
                        } else {
                            CodeSection targetSection = codeSections.get(t.section());
                            Function callee = targetSection.functionContaining(t.slot());
                            if (callee == null) {
                                throw new LoadException(where + ": instruction " + pc + " refers to instruction " + t.slot() + " of section "
                                        + targetSection.section.name() + ", which is in no function");
                            }
                            Integer base = placed.get(callee);
                            if (base == null) {
                                base = length;
                                int size = callee.end() - callee.start();
                                if ((long) length + size > Code.MAX_SLOTS) throw new LoadException(where + ": more than " + Code.MAX_SLOTS + " instructions once linked");
                                length += size;
                                if (length > out.length) out = Arrays.copyOf(out, Math.max(length, out.length * 2));
                                placed.put(callee, base);
                                pending.add(new Unit(callee, base));
                            }
                            targetPc = base + t.slot() - callee.start();
                        }
                        int relative = targetPc - pc - 1;
                        if (opcode == OPCODE_LDDW) {
                            out[pc] = withSrcImm(word, LoadImm64.FUNC, relative);
                            if (wide) out[pc + 1] = withSrcImm(cs.words[s + 1], 0, 0);
                        } else {
                            out[pc] = withSrcImm(word, PSEUDO_CALL, relative);
                        }
                    }
                }
                if (wide) s++;
            }
        }
        long[] words = Arrays.copyOf(out, length);
        Code code;
        try {
            code = Code.decode(words);
        } catch (InvalidInstructionException e) {
            throw new LoadException(where + ": " + e.getMessage());
        }
        List<LineInfo> lines = new ArrayList<>();
        List<FuncInfo> funcs = new ArrayList<>();
        for (Map.Entry<Function, Integer> e : placed.entrySet()) {
            Function f = e.getKey();
            int base = e.getValue();
            if (btfExt == null) break;
            for (LineInfo line : btfExt.lineInfo(f.section().section.name())) {
                if (line.slot() >= f.start() && line.slot() < f.end()) lines.add(line.withSlot(base + line.slot() - f.start()));
            }
            for (FuncInfo func : btfExt.funcInfo(f.section().section.name())) {
                if (func.slot() >= f.start() && func.slot() < f.end()) funcs.add(func.withSlot(base + func.slot() - f.start()));
            }
        }
        lines.sort(Comparator.comparingInt(LineInfo::slot));
        funcs.sort(Comparator.comparingInt(FuncInfo::slot));
        SortedSet<Integer> mapIndexes = new TreeSet<>();
        for (int pc = 0; pc < code.length(); pc++) {
            if (code.at(pc) instanceof LoadImm64 l && (l.pseudo() == LoadImm64.MAP_IDX || l.pseudo() == LoadImm64.MAP_IDX_VALUE)) {
                mapIndexes.add(l.imm());
            }
        }
        return new Program(main.name(), main.section().section.name(), type, code, List.copyOf(mapIndexes), lines, funcs);
    }

    /** The instruction word with its {@code src_reg} field and immediate replaced. */
    private static long withSrcImm(long word, int src, int imm) {
        return (word & 0x0000_0000_ffff_0fffL) | ((long) (src & 0xf) << 12) | ((long) imm << 32);
    }
}
