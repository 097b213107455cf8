package io.kflex.jit;

import static java.lang.constant.ConstantDescs.*;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.EngineException;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.FunctionPointers;
import io.kflex.engine.HeapAccess;
import io.kflex.engine.HeapMemory;
import io.kflex.engine.HeapPlan;
import io.kflex.engine.RuntimeLimits;
import io.kflex.engine.CancellationBeacon;
import io.kflex.engine.Invocation;
import io.kflex.helpers.Helper;
import io.kflex.helpers.HelperTable;
import io.kflex.helpers.StackKeyLookup;
import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import io.kflex.verifier.AccessFact;
import io.kflex.verifier.VerifiedProgram;
import java.lang.classfile.ClassBuilder;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.classfile.MethodModel;
import java.lang.classfile.TypeKind;
import java.lang.classfile.attribute.CodeAttribute;
import java.lang.classfile.instruction.SwitchCase;
import java.lang.constant.ClassDesc;
import java.lang.constant.DirectMethodHandleDesc;
import java.lang.constant.DynamicConstantDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.reflect.AccessFlag;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Translates an eBPF program into one JVM class: each subprogram (the entry at slot 0 and every
 * target of a local call or function pointer) becomes a static method whose eBPF registers are
 * {@code long} locals, so r6-r9 survive calls for free and C2 sees plain dataflow.
 *
 * <h2>Fault attribution</h2>
 * The hot path never records a pc. Every instruction that can fault (load, store, atomic, helper
 * call) gets its own exception-table entry covering exactly its bytecode, with an out-of-line
 * handler that pushes that instruction's eBPF pc and rethrows the fault as a {@link JitFault}.
 * Faults the generated code detects itself (call depth, unknown helper) jump to a similar stub.
 * Exception tables cost nothing until something is thrown.
 *
 * <h2>Cancellation</h2>
 * Every backward branch the verifier did not prove terminating and every {@code may_goto} reads
 * the {@link CancellationBeacon} word (a volatile read at a constant address, never hoisted out of
 * the loop, holding no register); only while it is lit does an out-of-line stub read the
 * invocation's own request and unwind with the point's pc. Small innermost loops are emitted
 * {@value ProgramStructure#UNROLL} times in a row with the points in the last copy only, so a
 * tight loop pays for one check per {@value ProgramStructure#UNROLL} iterations (and so does the
 * JVM's own safepoint poll).
 *
 * <h2>Huge methods</h2>
 * HotSpot refuses to JIT-compile methods over 8000 bytes of bytecode. A subprogram whose method
 * would exceed that is split into <em>regions</em> of consecutive instructions, each its own
 * method taking the registers in a {@code long[]}; a small dispatcher method loops calling the
 * region that holds the next pc. Inside a region registers are locals again, so only region
 * transitions pay for the array.
 */
final class JitCompiler {
    /** Locals per cached host region and direction: segment (1), window (2), the array behind the segment (1). */
    private static final int HOST_CACHE_ENTRY = 4;

    /** HotSpot's {@code HugeMethodLimit}: larger methods are never compiled. */
    static final int HUGE_METHOD_LIMIT = 8000;

    static final ClassDesc CD_CONTEXT = ClassDesc.of(JitContext.class.getName());
    static final ClassDesc CD_RUNTIME = ClassDesc.of(JitRuntime.class.getName());
    static final ClassDesc CD_ADDRESS_SPACE = ClassDesc.of(AddressSpace.class.getName());
    static final ClassDesc CD_INVOCATION = ClassDesc.of(Invocation.class.getName());
    static final ClassDesc CD_BEACON = ClassDesc.of(CancellationBeacon.class.getName());
    static final ClassDesc CD_HELPER = ClassDesc.of(Helper.class.getName());
    static final ClassDesc CD_HELPER_TABLE = ClassDesc.of(HelperTable.class.getName());
    static final ClassDesc CD_STACK_KEY_LOOKUP = ClassDesc.of(StackKeyLookup.class.getName());
    static final ClassDesc CD_MEMORY_SEGMENT = ClassDesc.of("java.lang.foreign.MemorySegment");
    static final ClassDesc CD_EXTENSION_FAULT = ClassDesc.of(ExtensionFault.class.getName());
    static final ClassDesc CD_JIT_FAULT = ClassDesc.of(JitFault.class.getName());
    static final ClassDesc CD_TAIL_CALL = ClassDesc.of(JitTailCall.class.getName());

    /** Name of the generated (hidden) class; must be in this package to reach its package-private runtime. */
    static final ClassDesc CD_PROGRAM = ClassDesc.of(JitCompiler.class.getPackageName() + ".Program");
    /**
     * Name of a generated class with a method past what C1 compiles comfortably
     * ({@link HotSpotTiers#C1_COMFORTABLE_BYTES}): HotSpot is told to leave such classes to C2
     * ({@link HotSpotTiers}, docs/jit.md "C1's limit and tier 2").
     */
    static final ClassDesc CD_LARGE_PROGRAM = ClassDesc.of(JitCompiler.class.getPackageName() + ".LargeProgram");

    /** Descriptor of every subprogram method: (context, call depth, r1..r5) -> r0. */
    static final MethodTypeDesc SUBPROGRAM_TYPE = MethodTypeDesc.of(CD_long, CD_CONTEXT, CD_int, CD_long, CD_long, CD_long, CD_long, CD_long);
    /** Descriptor of a region of a split subprogram: (context, depth, registers, entry pc) -> next pc or -1 on exit. */
    static final MethodTypeDesc REGION_TYPE = MethodTypeDesc.of(CD_int, CD_CONTEXT, CD_int, CD_long.arrayType(), CD_int);

    private static final MethodTypeDesc MTD_LOAD = MethodTypeDesc.of(CD_long, CD_long, CD_int);
    private static final MethodTypeDesc MTD_STORE = MethodTypeDesc.of(CD_void, CD_long, CD_int, CD_long);
    private static final MethodTypeDesc MTD_HELPER = MethodTypeDesc.of(CD_long, CD_INVOCATION, CD_long, CD_long, CD_long, CD_long, CD_long);
    private static final MethodTypeDesc MTD_LL_L = MethodTypeDesc.of(CD_long, CD_long, CD_long);
    private static final MethodTypeDesc MTD_II_I = MethodTypeDesc.of(CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_I_L = MethodTypeDesc.of(CD_long, CD_int);
    private static final MethodTypeDesc MTD_I_I = MethodTypeDesc.of(CD_int, CD_int);
    private static final MethodTypeDesc MTD_L_L = MethodTypeDesc.of(CD_long, CD_long);
    private static final MethodTypeDesc MTD_LL_I = MethodTypeDesc.of(CD_int, CD_long, CD_long);
    private static final MethodTypeDesc MTD_FAULT_CAUGHT = MethodTypeDesc.of(ClassDesc.of(RuntimeException.class.getName()), CD_Throwable, CD_int);
    private static final MethodTypeDesc MTD_HOST_GET = MethodTypeDesc.of(CD_long, CD_MEMORY_SEGMENT, CD_long);
    private static final MethodTypeDesc MTD_HOST_SET = MethodTypeDesc.of(CD_void, CD_MEMORY_SEGMENT, CD_long, CD_long);
    private static final MethodTypeDesc MTD_HOST_SEGMENT = MethodTypeDesc.of(CD_MEMORY_SEGMENT, CD_long, CD_int, CD_boolean);
    private static final MethodTypeDesc MTD_WORDS_GET = MethodTypeDesc.of(CD_long, CD_long.arrayType(), CD_long);
    private static final MethodTypeDesc MTD_WORDS_SET = MethodTypeDesc.of(CD_void, CD_long.arrayType(), CD_long, CD_long);
    private static final MethodTypeDesc MTD_WORDS_OF = MethodTypeDesc.of(CD_long.arrayType(), CD_long, CD_int, CD_boolean);
    private static final MethodTypeDesc MTD_BYTES_GET = MethodTypeDesc.of(CD_long, CD_byte.arrayType(), CD_long);
    private static final MethodTypeDesc MTD_BYTES_SET = MethodTypeDesc.of(CD_void, CD_byte.arrayType(), CD_long, CD_long);
    private static final MethodTypeDesc MTD_BYTES_OF = MethodTypeDesc.of(CD_byte.arrayType(), CD_long, CD_int, CD_boolean);
    private static final MethodTypeDesc MTD_HOST_ACCESS_FAULT = MethodTypeDesc.of(ClassDesc.of(RuntimeException.class.getName()),
            CD_Throwable, CD_ADDRESS_SPACE, CD_long, CD_int, CD_boolean, CD_int);
    private static final MethodTypeDesc MTD_FAULT_AT = MethodTypeDesc.of(CD_JIT_FAULT, CD_int, CD_String);
    private static final MethodTypeDesc MTD_HELPER_BY_NUMBER = MethodTypeDesc.of(CD_long, CD_HELPER_TABLE, CD_INVOCATION,
            CD_long, CD_long, CD_long, CD_long, CD_long, CD_long);
    private static final MethodTypeDesc MTD_BAD_TARGET = MethodTypeDesc.of(CD_JIT_FAULT, CD_long, CD_int);
    private static final MethodTypeDesc MTD_LOOKUP_ON_STACK = MethodTypeDesc.of(CD_long, CD_INVOCATION, CD_byte.arrayType(), CD_long);
    private static final MethodTypeDesc MTD_POLL = MethodTypeDesc.of(CD_void, CD_CONTEXT, CD_int);
    private static final ClassDesc CD_ATOMIC_OP = ClassDesc.of(AtomicOp.class.getName());
    private static final MethodTypeDesc MTD_GET_AND_APPLY = MethodTypeDesc.of(CD_long, CD_long, CD_int, CD_ATOMIC_OP, CD_long);
    private static final MethodTypeDesc MTD_COMPARE_AND_EXCHANGE = MethodTypeDesc.of(CD_long, CD_long, CD_int, CD_long, CD_long);

    static final ClassDesc CD_RUNTIME_EXCEPTION = ClassDesc.of(RuntimeException.class.getName());
    static final ClassDesc CD_HEAP_ACCESS = ClassDesc.of(HeapAccess.class.getName());
    static final ClassDesc CD_HEAP_MEMORY = ClassDesc.of(HeapMemory.class.getName());
    private static final MethodTypeDesc MTD_CAST_USER = MethodTypeDesc.of(CD_long, CD_long, CD_long);
    private static final MethodTypeDesc MTD_CHECK_ALLOCATED = MethodTypeDesc.of(CD_void, CD_HEAP_MEMORY, CD_long, CD_int);
    private static final MethodTypeDesc MTD_HEAP_GET_AND_APPLY = MethodTypeDesc.of(CD_long, CD_MEMORY_SEGMENT, CD_long, CD_int, CD_ATOMIC_OP, CD_long);
    private static final MethodTypeDesc MTD_HEAP_CMPXCHG = MethodTypeDesc.of(CD_long, CD_MEMORY_SEGMENT, CD_long, CD_int, CD_long, CD_long);
    private static final MethodTypeDesc MTD_LOAD_MIXED = MethodTypeDesc.of(CD_long, CD_ADDRESS_SPACE, CD_HEAP_MEMORY, CD_long, CD_int, CD_int);
    private static final MethodTypeDesc MTD_STORE_MIXED = MethodTypeDesc.of(CD_void, CD_ADDRESS_SPACE, CD_HEAP_MEMORY, CD_long, CD_int, CD_int, CD_long);
    private static final MethodTypeDesc MTD_ATOMIC_MIXED = MethodTypeDesc.of(CD_long, CD_ADDRESS_SPACE, CD_HEAP_MEMORY, CD_long, CD_int, CD_int,
            CD_ATOMIC_OP, CD_long);
    private static final MethodTypeDesc MTD_CMPXCHG_MIXED = MethodTypeDesc.of(CD_long, CD_ADDRESS_SPACE, CD_HEAP_MEMORY, CD_long, CD_int, CD_int,
            CD_long, CD_long);

    private static final DirectMethodHandleDesc CLASS_DATA_AT = ofConstantBootstrap(
            ClassDesc.of("java.lang.invoke.MethodHandles"), "classDataAt", CD_Object, CD_int);

    private static final ClassHierarchyResolver RESOLVER = ClassHierarchyResolver.defaultResolver()
            .orElse(ClassHierarchyResolver.ofResourceParsing(JitCompiler.class.getClassLoader()));

    /** The class-file context generated classes are built and verified with. */
    static ClassFile classFile() {
        return ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(RESOLVER));
    }

    private final Code code;
    private final HelperTable helpers;
    /** The generated class's name: {@link #CD_PROGRAM}, or {@link #CD_LARGE_PROGRAM} once {@link #generate} finds a large method. */
    private ClassDesc programClass = CD_PROGRAM;
    /** Bytes of bytecode of the generated class's largest method (set by {@link #generate}). */
    private int largestMethodBytes;
    /** Helper number → index in the class data (also the static field name suffix). */
    private final Map<Integer, Integer> helperSlots = new LinkedHashMap<>();
    /** Class-data slot of each bound kfunc, by kfunc id. */
    private final Map<Integer, Integer> kfuncSlots = new LinkedHashMap<>();
    /**
     * Helper calls bound to their map at load time (the verifier proved the map argument is one
     * program map on every path): call pc → index in the class data of the bound helper.
     */
    private final Map<Integer, Integer> boundSlots = new LinkedHashMap<>();
    /**
     * Bound map lookups with a form for keys on the stack ({@link StackKeyLookup}): their static
     * finals have that type, and a call whose key pointer lies in the stack's window hands the
     * stack's bytes over instead of the address.
     */
    private final java.util.Set<Integer> stackKeyLookups = new java.util.HashSet<>();
    /** Bound calls after which the invocation's regions are known unchanged ({@link Helper#keepsRegions}). */
    private final java.util.Set<Integer> keepsRegions = new java.util.HashSet<>();
    /** Ids of the bound kfuncs that leave the invocation's regions alone ({@link Helper#keepsRegions}). */
    private final java.util.Set<Integer> kfuncsKeepingRegions = new java.util.HashSet<>();
    /** Backward branches the verifier proved to close terminating loops: emitted without a poll. */
    private final BitSet noPoll;
    /** Subprograms, function entries and the loop and frame analyses the emitter relies on. */
    private final ProgramStructure structure;
    /** The resolved value of each {@code lddw} pseudo form, by pc (map handles, value addresses). */
    private final Map<Integer, Long> pseudoValues = new HashMap<>();
    private final List<Object> classData = new ArrayList<>();
    /** Subprogram entry → region start slots, for subprograms that had to be split. */
    private final Map<Integer, List<Integer>> splits = new HashMap<>();
    private final int methodLimit;
    /** Index of the helper table in the class data, or -1 when no {@code callx} needs it. */
    private int helperTableSlot = -1;
    /** How each memory instruction reaches memory (heap accesses from the verifier's facts). */
    private final HeapPlan heapPlan;
    /** False only for the measuring-only engine: no heap confinement, no cancellation polls. */
    private final boolean instrumented;
    /**
     * Per pc, the host region the verifier proved a load or store reaches (packet, context, map
     * value), accessed through the region's segment directly; null where the generic address-space
     * path applies (no facts, other or mixed regions, atomics, heap accesses).
     */
    private final HostRegion[] hostRegions;
    /** How many accesses {@link #hostRegions} specialises. */
    private final int hostAccesses;

    /** The bound heap (null if none) and the class-data slots of its segment and of the heap itself. */
    private final HeapMemory heap;
    private int heapSegmentSlot = -1, heapSlot = -1;

    /**
     * Per instruction: the program map whose values a map-value access reaches on every path, when
     * that map keeps its values in one fixed region ({@link Bindings.PseudoResolver#valueRegion});
     * else -1. Such an access checks its window against the region's and then goes through a
     * static final segment, which C2 folds like the heap's.
     */
    private final int[] fixedValueMap;
    /** Per program map with fixed values: its window and the class-data slot of its segment. */
    private final Map<Integer, FixedValues> fixedValues = new TreeMap<>();

    private record FixedValues(long window, int slot) {}

    JitCompiler(Code code, Bindings bindings) throws EngineException {
        this(code, bindings, HUGE_METHOD_LIMIT);
    }

    /** {@code methodLimit} below HotSpot's is only for tests that exercise splitting on small programs. */
    JitCompiler(Code code, Bindings bindings, int methodLimit) throws EngineException {
        this(code, bindings, methodLimit, true);
    }

    /**
     * {@code instrumented = false} leaves out heap confinement and cancellation polls: only for
     * {@link JitEngine#uninstrumentedForMeasurementOnly()}, which prices them.
     */
    JitCompiler(Code code, Bindings bindings, int methodLimit, boolean instrumented) throws EngineException {
        this.instrumented = instrumented;
        this.code = code;
        this.helpers = bindings.helpers();
        this.noPoll = io.kflex.engine.CancellationPolls.skippable(code, bindings.verified());
        this.methodLimit = methodLimit;
        this.heapPlan = HeapPlan.of(code, bindings);
        this.heap = bindings.heap().orElse(null);
        this.hostRegions = new HostRegion[code.length()];
        this.fixedValueMap = new int[code.length()];
        Arrays.fill(fixedValueMap, -1);
        int specialised = 0;
        if (bindings.verified().isPresent()) {
            VerifiedProgram facts = bindings.verified().get();
            HeapPlan.checkSameProgram(facts, code);
            for (int pc = 0; pc < code.length(); pc++) {
                Instruction insn = code.at(pc);
                boolean loadOrStore = insn instanceof Load || insn instanceof Store || insn instanceof StoreReg;
                AccessFact fact = facts.accessAt(pc);
                if (!loadOrStore || fact == null || heapPlan.mode(pc) != HeapPlan.Mode.ADDRESS_SPACE) continue;
                HostRegion region = HostRegion.of(fact.region());
                // Frame slots addressed from r10 have their own, cheaper path (a constant offset in the frame).
                if (region == HostRegion.STACK && baseRegister(insn) == 10) continue;
                hostRegions[pc] = region;
                if (region != null) specialised++;
                if (region == HostRegion.MAP_VALUE && fact.map() >= 0) fixValueRegion(pc, fact.map(), !(insn instanceof Load), bindings);
            }
        }
        this.hostAccesses = specialised;
        if (heap != null) {
            // Static finals of the hidden class: C2 folds the segment's base and size, so a
            // guarded access compiles to a mask and a move (DESIGN §5).
            heapSegmentSlot = classData.size();
            classData.add(heap.segment());
            heapSlot = classData.size();
            classData.add(heap);
        }
        this.structure = new ProgramStructure(code, bindings.verified().isPresent(), noPoll);
        this.stackBytesToZero = bindings.verified().map(this::verifiedStackBytes).orElse(RuntimeLimits.STACK_SIZE);
        for (int pc = 0; pc < code.length(); pc++) {
            if (code.at(pc) instanceof CallX && helperTableSlot < 0) {
                // callx on a value that is not a function pointer calls a helper by number.
                helperTableSlot = classData.size();
                classData.add(helpers);
            }
            if (code.at(pc) instanceof Call c && c.kind() == CallKind.HELPER) {
                HelperTable.NamedHelper h = helpers.get(c.imm());
                if (h != null && !helperSlots.containsKey(c.imm())) {
                    helperSlots.put(c.imm(), classData.size());
                    classData.add(h.implementation());
                }
                if (h != null) bindToMap(pc, h.implementation(), bindings);
            }
            if (code.at(pc) instanceof Call c && c.kind() == CallKind.KFUNC) {
                HelperTable.NamedHelper k = helpers.kfunc(c.imm());
                if (k != null && !kfuncSlots.containsKey(c.imm())) {
                    kfuncSlots.put(c.imm(), classData.size());
                    classData.add(k.implementation());
                    if (k.implementation().keepsRegions()) kfuncsKeepingRegions.add(c.imm());
                }
            }
            if (code.at(pc) instanceof LoadImm64 l && l.pseudo() != LoadImm64.PLAIN && l.pseudo() != LoadImm64.FUNC) {
                OptionalLong value = bindings.pseudo().resolve(l);
                if (value.isPresent()) pseudoValues.put(pc, value.getAsLong());
            }
        }
    }

    /** Marks the access at {@code pc} to map {@code map}'s values as fixed-region, if the map's values stay in one region. */
    private void fixValueRegion(int pc, int map, boolean write, Bindings bindings) {
        Optional<Bindings.FixedRegion> fixed = bindings.pseudo().valueRegion(map);
        // A store to a read-only map keeps the generic path, which faults as the address space does.
        if (fixed.isEmpty() || write && !fixed.get().region().writable()) return;
        if (!fixedValues.containsKey(map)) {
            fixedValues.put(map, new FixedValues(fixed.get().base() >>> 32, classData.size()));
            classData.add(fixed.get().region().segment());
        }
        fixedValueMap[pc] = map;
    }

    /**
     * Binds the helper call at {@code pc} to its map when the verifier proved the map argument is
     * the same program map on every path and the helper has a form bound to one map.
     */
    private void bindToMap(int pc, Helper helper, Bindings bindings) throws EngineException {
        if (bindings.verified().isEmpty()) return;
        int map = bindings.verified().get().constantMapAt(pc);
        if (map < 0) return;
        OptionalLong handle = bindings.pseudo().resolve(new LoadImm64(1, LoadImm64.MAP_IDX, map, 0));
        if (handle.isEmpty()) return;
        Helper bound = helper.bindFirstArgument(handle.getAsLong());
        if (bound == null) return;
        boundSlots.put(pc, classData.size());
        classData.add(bound);
        if (bound.keepsRegions()) keepsRegions.add(pc);
        if (bound instanceof StackKeyLookup && bound.keepsRegions()) stackKeyLookups.add(pc);
    }

    /** How many helper calls are bound to their map. */
    int boundCalls() { return boundSlots.size(); }

    /** How many of those are map lookups that take a key on the stack as array elements. */
    int stackKeyLookups() { return stackKeyLookups.size(); }

    /** The type of the static final holding the helper bound for the call at {@code pc}. */
    private ClassDesc boundType(int pc) { return stackKeyLookups.contains(pc) ? CD_STACK_KEY_LOOKUP : CD_HELPER; }

    /** Bytes at the top of the stack region a run must zero (see {@link io.kflex.engine.Stack#mapInto(AddressSpace, int)}). */
    private final int stackBytesToZero;

    /**
     * A program of one subprogram (no local calls, no function pointers for callbacks) touches
     * only its main frame, down to the depth the verifier computed; anything else may use every
     * frame.
     */
    private int verifiedStackBytes(VerifiedProgram facts) {
        if (structure.subprograms().size() != 1 || !structure.functionEntries().isEmpty()) return RuntimeLimits.STACK_SIZE;
        Integer depth = facts.stackDepths().get(0);
        if (depth == null || depth < 0 || depth > RuntimeLimits.STACK_FRAME_SIZE) return RuntimeLimits.STACK_SIZE;
        return (depth + 7) & ~7;
    }

    /** Bytes at the top of the stack a run must find zeroed: the verified depth of a program without calls, else all. */
    int stackBytesToZero() { return stackBytesToZero; }

    private static int baseRegister(Instruction insn) {
        return switch (insn) {
            case Load l -> l.src();
            case Store st -> st.dst();
            case StoreReg st -> st.dst();
            default -> -1;
        };
    }

    /** How many loads and stores go straight to a packet, context or map-value segment. */
    int hostAccesses() { return hostAccesses; }

    /** How many of those reach a map's values through the map's fixed region ({@link #fixedValueMap}). */
    int fixedValueAccesses() { return (int) Arrays.stream(fixedValueMap).filter(m -> m >= 0).count(); }

    /** Frame slots kept in {@code long} locals, over every subprogram generated as one method. */
    int promotedFrameSlots() {
        int n = 0;
        for (var sub : structure.subprograms().entrySet()) {
            BitSet body = sub.getValue();
            if (!splits.containsKey(sub.getKey())) n += structure.promotableFrameSlots(body, structure.framePointerIsFixed(body)).size();
        }
        return n;
    }

    /** Values the hidden class's static finals are initialised from, in field order. */
    List<Object> classData() { return List.copyOf(classData); }

    /** Number of subprograms split into regions (after {@link #generate}). */
    int splitSubprograms() { return splits.size(); }

    static String methodName(int entry) { return "f" + entry; }

    /** Slots a function pointer may name (each has its own method). */
    java.util.Set<Integer> functionEntries() { return structure.functionEntries(); }

    private static String regionName(int entry, int start) { return "f" + entry + "_" + start; }

    /** The JVM view of an access size on a segment (the heap's): layout constant in {@link JitRuntime} and value type. */
    private record MemoryAccess(String field, ClassDesc layout, ClassDesc type) {
        private static final MemoryAccess B = new MemoryAccess("LE8", ClassDesc.of("java.lang.foreign.ValueLayout$OfByte"), CD_byte);
        private static final MemoryAccess H = new MemoryAccess("LE16", ClassDesc.of("java.lang.foreign.ValueLayout$OfShort"), CD_short);
        private static final MemoryAccess W = new MemoryAccess("LE32", ClassDesc.of("java.lang.foreign.ValueLayout$OfInt"), CD_int);
        private static final MemoryAccess DW = new MemoryAccess("LE64", ClassDesc.of("java.lang.foreign.ValueLayout$OfLong"), CD_long);

        static MemoryAccess of(Size size) {
            return switch (size) {
                case B -> B;
                case H -> H;
                case W -> W;
                case DW -> DW;
            };
        }
    }

    /**
     * Generates the class, splitting subprograms whose methods would be too large for HotSpot to
     * compile; a class with a method past C1's comfortable size is named {@link #CD_LARGE_PROGRAM}.
     */
    byte[] generate() throws EngineException {
        programClass = CD_PROGRAM;
        for (var sub : structure.subprograms().entrySet()) {
            int entry = sub.getKey();
            BitSet body = sub.getValue();
            int size = measure(entry);
            if (size <= methodLimit) continue;
            // Cut into regions sized from the measured density, halving until every region fits.
            int instructions = body.cardinality();
            int perRegion = size == Integer.MAX_VALUE ? 256 : Math.max(1, (int) ((long) instructions * methodLimit * 3 / 4 / size));
            while (true) {
                splits.put(entry, ProgramStructure.regionStarts(body, perRegion));
                size = measure(entry);
                if (size <= methodLimit) break;
                if (size == Integer.MAX_VALUE && perRegion <= SMALL_REGION) {
                    throw new EngineException("cannot generate bytecode for subprogram " + entry + " (a class-file limit other than method size, such as the constant pool): " + lastBuildFailure);
                }
                if (perRegion == 1) {
                    throw new EngineException("a single instruction of subprogram " + entry + " needs more than " + methodLimit + " bytes of bytecode");
                }
                perRegion = Math.max(1, perRegion / 2);
            }
        }
        byte[] bytes = build();
        largestMethodBytes = largestMethod(bytes);
        if (largestMethodBytes > HotSpotTiers.C1_COMFORTABLE_BYTES) {
            // The same class under the name HotSpot is told to compile with C2 only: the name is
            // in every field and method reference, so the class is built again rather than renamed.
            programClass = CD_LARGE_PROGRAM;
            bytes = build();
            largestMethodBytes = largestMethod(bytes);
        }
        return bytes;
    }

    /** Bytes of bytecode of the largest method {@link #generate} made. */
    int largestMethodBytes() { return largestMethodBytes; }

    /** Whether {@link #generate} named the class for C2 alone ({@link #CD_LARGE_PROGRAM}). */
    boolean leftToC2() { return programClass == CD_LARGE_PROGRAM; }

    private byte[] build() throws EngineException {
        try {
            return classFile().build(programClass, cb -> {
                cb.withFlags(AccessFlag.FINAL, AccessFlag.SYNTHETIC);
                emitEntry(cb);
                emitConstants(cb);
                for (int entry : structure.subprograms().keySet()) emitSubprogram(cb, entry);
            });
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new EngineException("cannot generate bytecode: " + e.getMessage(), e);
        }
    }

    /** Why the last {@link #measure} could not build the class at all. */
    private String lastBuildFailure;

    /**
     * Regions this small cannot reach the 64 KiB method limit: a build that still fails is over
     * another limit of the class-file format (such as the constant pool), which splitting cannot fix.
     */
    private static final int SMALL_REGION = 64;

    /** The largest method the subprogram compiles to under the current split plan. */
    private int measure(int entry) {
        byte[] bytes;
        try {
            bytes = classFile().build(programClass, cb -> emitSubprogram(cb, entry));
        } catch (IllegalArgumentException | IllegalStateException e) {
            lastBuildFailure = e.getMessage();
            return Integer.MAX_VALUE; // over the JVM's 64 KiB method limit, or jump offsets out of range
        }
        int max = 0;
        boolean split = splits.containsKey(entry);
        for (MethodModel m : ClassFile.of().parse(bytes).methods()) {
            // A split subprogram's dispatcher only loops over region calls: about 20 bytes per
            // region, so it stays under the limit up to some 400 regions (over 100,000
            // instructions); beyond that it runs interpreted while the regions are compiled.
            if (split && m.methodName().equalsString(methodName(entry))) continue;
            int length = m.code().map(c -> ((CodeAttribute) c).codeLength()).orElse(0);
            max = Math.max(max, length);
        }
        return max;
    }

    /** Largest method in a generated class: what decides whether HotSpot compiles it. */
    static int largestMethod(byte[] bytes) {
        ClassModel model = ClassFile.of().parse(bytes);
        return model.methods().stream().mapToInt(m -> m.code().map(c -> ((CodeAttribute) c).codeLength()).orElse(0)).max().orElse(0);
    }

    static final ClassDesc CD_ENTRY = ClassDesc.of(JitEntry.class.getName());
    static final MethodTypeDesc ENTRY_METHOD_TYPE = MethodTypeDesc.of(CD_long, CD_CONTEXT, CD_long, CD_long, CD_long, CD_long, CD_long);

    /** {@link JitEntry}: a no-argument constructor and {@code enter}, which calls the entry subprogram at depth 0. */
    private void emitEntry(ClassBuilder cb) {
        cb.withInterfaceSymbols(CD_ENTRY);
        cb.withMethodBody(INIT_NAME, MTD_void, ClassFile.ACC_PUBLIC, code -> code.aload(0).invokespecial(CD_Object, INIT_NAME, MTD_void).return_());
        cb.withMethodBody("enter", ENTRY_METHOD_TYPE, ClassFile.ACC_PUBLIC | ClassFile.ACC_FINAL, code -> {
            code.aload(1).iconst_0();
            for (int r = 0; r < 5; r++) code.lload(2 + 2 * r);
            code.invokestatic(programClass, methodName(0), SUBPROGRAM_TYPE).lreturn();
        });
    }

    /** Static finals for the class data: one per helper called by number, and the helper table for {@code callx}. */
    private void emitConstants(ClassBuilder cb) {
        if (classData.isEmpty()) return;
        int flags = ClassFile.ACC_PRIVATE | ClassFile.ACC_STATIC | ClassFile.ACC_FINAL;
        for (var e : helperSlots.entrySet()) cb.withField(helperField(e.getKey()), CD_HELPER, flags);
        for (var e : kfuncSlots.entrySet()) cb.withField(kfuncField(e.getKey()), CD_HELPER, flags);
        for (var e : boundSlots.entrySet()) cb.withField(boundField(e.getKey()), boundType(e.getKey()), flags);
        if (helperTableSlot >= 0) cb.withField(HELPER_TABLE_FIELD, CD_HELPER_TABLE, flags);
        for (int map : fixedValues.keySet()) cb.withField(mapValuesField(map), CD_MEMORY_SEGMENT, flags);
        if (heapSegmentSlot >= 0) {
            cb.withField(HEAP_SEGMENT_FIELD, CD_MEMORY_SEGMENT, flags);
            cb.withField(HEAP_FIELD, CD_HEAP_MEMORY, flags);
        }
        cb.withMethodBody(CLASS_INIT_NAME, MTD_void, ClassFile.ACC_STATIC, code -> {
            for (var e : helperSlots.entrySet()) {
                code.loadConstant(DynamicConstantDesc.ofNamed(CLASS_DATA_AT, DEFAULT_NAME, CD_HELPER, e.getValue()));
                code.putstatic(programClass, helperField(e.getKey()), CD_HELPER);
            }
            for (var e : kfuncSlots.entrySet()) {
                code.loadConstant(DynamicConstantDesc.ofNamed(CLASS_DATA_AT, DEFAULT_NAME, CD_HELPER, e.getValue()));
                code.putstatic(programClass, kfuncField(e.getKey()), CD_HELPER);
            }
            for (var e : boundSlots.entrySet()) {
                ClassDesc type = boundType(e.getKey());
                code.loadConstant(DynamicConstantDesc.ofNamed(CLASS_DATA_AT, DEFAULT_NAME, type, e.getValue()));
                code.putstatic(programClass, boundField(e.getKey()), type);
            }
            if (helperTableSlot >= 0) {
                code.loadConstant(DynamicConstantDesc.ofNamed(CLASS_DATA_AT, DEFAULT_NAME, CD_HELPER_TABLE, helperTableSlot));
                code.putstatic(programClass, HELPER_TABLE_FIELD, CD_HELPER_TABLE);
            }
            for (var e : fixedValues.entrySet()) {
                code.loadConstant(DynamicConstantDesc.ofNamed(CLASS_DATA_AT, DEFAULT_NAME, CD_MEMORY_SEGMENT, e.getValue().slot()));
                code.putstatic(programClass, mapValuesField(e.getKey()), CD_MEMORY_SEGMENT);
            }
            if (heapSegmentSlot >= 0) {
                code.loadConstant(DynamicConstantDesc.ofNamed(CLASS_DATA_AT, DEFAULT_NAME, CD_MEMORY_SEGMENT, heapSegmentSlot));
                code.putstatic(programClass, HEAP_SEGMENT_FIELD, CD_MEMORY_SEGMENT);
                code.loadConstant(DynamicConstantDesc.ofNamed(CLASS_DATA_AT, DEFAULT_NAME, CD_HEAP_MEMORY, heapSlot));
                code.putstatic(programClass, HEAP_FIELD, CD_HEAP_MEMORY);
            }
            code.return_();
        });
    }

    private static final String HELPER_TABLE_FIELD = "helpers";
    private static final String HEAP_SEGMENT_FIELD = "heap", HEAP_FIELD = "heapMemory";

    private static String helperField(int id) { return "helper" + id; }

    /** The static final holding the helper bound to its map for the call at {@code pc}. */
    private static String boundField(int pc) { return "bound" + pc; }

    private static String kfuncField(int id) { return "kfunc" + id; }

    /** The static final holding the segment of program map {@code map}'s fixed value region. */
    private static String mapValuesField(int map) { return "mapValues" + map; }


    private void emitSubprogram(ClassBuilder cb, int entry) {
        BitSet body = structure.subprograms().get(entry);
        List<Integer> regions = splits.get(entry);
        int end = code.length();
        if (regions == null) {
            cb.withMethodBody(methodName(entry), SUBPROGRAM_TYPE, ClassFile.ACC_STATIC,
                    code -> new MethodEmitter(code, entry, body, 0, end, false).emitWhole());
            return;
        }
        cb.withMethodBody(methodName(entry), SUBPROGRAM_TYPE, ClassFile.ACC_STATIC, code -> emitDispatcher(code, entry, regions));
        for (int i = 0; i < regions.size(); i++) {
            int start = regions.get(i);
            int stop = i + 1 < regions.size() ? regions.get(i + 1) : end;
            cb.withMethodBody(regionName(entry, start), REGION_TYPE, ClassFile.ACC_STATIC | ClassFile.ACC_PRIVATE,
                    code -> new MethodEmitter(code, entry, body, start, stop, true).emitRegion());
        }
    }

    /**
     * {@code regs = new long[11]; regs[1..5] = args; regs[10] = fp; pc = entry;
     * do pc = region(pc)(ctx, depth, regs, pc) while (pc >= 0); return regs[0];}
     */
    private void emitDispatcher(CodeBuilder code, int entry, List<Integer> regions) {
        int regs = 12, pc = 13;
        code.loadConstant(11).newarray(TypeKind.LONG).astore(regs);
        for (int r = 1; r <= 5; r++) code.aload(regs).loadConstant(r).lload(2 * r).lastore();
        code.aload(regs).loadConstant(10).aload(0).iload(1)
                .invokevirtual(CD_CONTEXT, "framePointer", MTD_I_L).lastore();
        code.loadConstant(entry).istore(pc);
        Label loop = code.newLabel(), done = code.newLabel(), check = code.newLabel();
        code.labelBinding(loop);
        for (int i = 0; i < regions.size(); i++) {
            Label next = code.newLabel();
            if (i + 1 < regions.size()) code.iload(pc).loadConstant(regions.get(i + 1)).if_icmpge(next);
            code.aload(0).iload(1).aload(regs).iload(pc)
                    .invokestatic(programClass, regionName(entry, regions.get(i)), REGION_TYPE).istore(pc)
                    .goto_(check);
            code.labelBinding(next);
        }
        code.labelBinding(check);
        code.iload(pc).iflt(done).goto_(loop);
        code.labelBinding(done);
        code.aload(regs).loadConstant(0).laload().lreturn();
    }

    /** Emits the bytecode of one method: a whole subprogram, or one region of a split one. */
    private final class MethodEmitter {
        private final CodeBuilder code;
        private final int subEntry, start, end;
        /** The subprogram's instructions; this method emits those in [start, end). */
        private final BitSet body;
        private final boolean region;
        private final int regBase, memSlot, invSlot, frameSlot, regsSlot = 2, entryPcSlot = 3;
        /** The local holding the stack's bytes ({@code byte[]}), which frame accesses index from {@link #frameSlot}. */
        private final int stackBytesSlot;
        /**
         * The local holding the stack's window ({@code stackBase >>> 32}), against which stack
         * accesses through a pointer check their address ({@link #stackElement}); set when the
         * method has such accesses. A local, not a field read per access: the cancellation poll's
         * volatile read in a loop would keep C2 from hoisting a field read out of it.
         */
        private final int stackWindowSlot;
        /** Whether this method has stack accesses through a pointer ({@link #stackElement}). */
        private final boolean stackPointers;
        /**
         * First of the locals caching, per host region kind and access direction (read, write),
         * the segment, the window it was last found at and the array behind it:
         * {@link #HOST_CACHE_ENTRY} slots each.
         */
        private final int hostCacheBase;
        /** Whether r10 keeps its frame-pointer value throughout the subprogram (nothing writes it). */
        private final boolean fixedFramePointer;
        /** Frame slots kept in {@code long} locals: 8-byte-aligned frame offset → local (empty when the frame escapes). */
        private final Map<Integer, Integer> slotLocals = new HashMap<>();
        private final Map<Integer, Label> labels = new HashMap<>();
        private final Map<Integer, Label> exits = new TreeMap<>();
        private final List<Consumer<CodeBuilder>> outOfLine = new ArrayList<>();
        /** Innermost polling loops emitted {@value ProgramStructure#UNROLL} times: head pc → back-edge pc. */
        private final Map<Integer, Integer> unrolledLoops;
        /** The copy of an unrolled loop being emitted, or null. */
        private LoopCopy loopCopy;

        /**
         * Copy {@code index} of the loop {@code [head, backEdge]}; {@code labels.get(i)} holds the
         * labels of copy i (copy 0 uses the method's own labels, so branches from outside the loop
         * enter it there).
         */
        private record LoopCopy(int head, int backEdge, int index, List<Map<Integer, Label>> labels) {
            boolean covers(int pc) { return pc >= head && pc <= backEdge; }
            boolean last() { return index == ProgramStructure.UNROLL - 1; }
        }

        MethodEmitter(CodeBuilder code, int subEntry, BitSet body, int start, int end, boolean region) {
            this.code = code;
            this.subEntry = subEntry;
            this.body = body;
            this.start = start;
            this.end = end;
            this.region = region;
            // Locals: the parameters, then r0..r10 (two slots each), the address space, the
            // invocation, the frame offset (a long), the host-region caches, the stack's bytes, the
            // stack's window (a long) and the frame slots kept in locals.
            this.regBase = region ? 4 : 12;
            this.memSlot = regBase + 22;
            this.invSlot = regBase + 23;
            this.frameSlot = regBase + 24;
            this.hostCacheBase = regBase + 26;
            this.stackBytesSlot = hostCacheBase + 2 * HOST_CACHE_ENTRY * HostRegion.values().length;
            this.stackWindowSlot = stackBytesSlot + 1;
            boolean pointers = false;
            for (int pc = body.nextSetBit(start); pc >= 0 && pc < end; pc = body.nextSetBit(pc + 1)) {
                pointers |= hostRegions[pc] == HostRegion.STACK;
            }
            this.stackPointers = pointers;
            this.fixedFramePointer = structure.framePointerIsFixed(body);
            this.unrolledLoops = structure.unrollableLoops(body, start, end);
            if (!region) {
                // A split subprogram keeps its frame in memory: its regions hand registers over
                // through an array, and would have to hand slots over too.
                int next = stackWindowSlot + 2;
                for (int slot : structure.promotableFrameSlots(body, fixedFramePointer)) {
                    slotLocals.put(slot, next);
                    next += 2;
                }
            }
        }

        private int reg(int r) { return regBase + 2 * r; }

        private Label label(int pc) {
            if (loopCopy != null && loopCopy.index() > 0 && loopCopy.covers(pc)) {
                return loopCopy.labels().get(loopCopy.index()).computeIfAbsent(pc, k -> code.newLabel());
            }
            if (pc >= start && pc < end) return labels.computeIfAbsent(pc, k -> code.newLabel());
            // Only a region can branch outside itself: a whole method holds every reachable pc.
            return exits.computeIfAbsent(pc, k -> code.newLabel());
        }

        /** Locals every method starts with: the address space, the invocation, the stack and this frame's offset in it. */
        private void loadContext() {
            if (hostAccesses > 0) {
                for (HostRegion k : HostRegion.values()) {
                    for (boolean write : new boolean[] {false, true}) {
                        code.aconst_null().astore(hostSegmentSlot(k, write));
                        code.aconst_null().astore(hostArraySlot(k, write));
                    }
                }
                forgetHostWindows();
            }
            code.aload(0).getfield(CD_CONTEXT, "memory", CD_ADDRESS_SPACE).astore(memSlot);
            code.aload(0).getfield(CD_CONTEXT, "invocation", CD_INVOCATION).astore(invSlot);
            if (fixedFramePointer) code.aload(0).iload(1).invokevirtual(CD_CONTEXT, "frameOffset", MTD_I_L).lstore(frameSlot);
            if (fixedFramePointer || stackPointers) code.aload(0).getfield(CD_CONTEXT, "stackBytes", CD_byte.arrayType()).astore(stackBytesSlot);
            if (stackPointers) code.aload(0).getfield(CD_CONTEXT, "stackBase", CD_long).loadConstant(32).lushr().lstore(stackWindowSlot);
        }

        void emitWhole() {
            loadContext();
            code.lconst_0().lstore(reg(0));
            for (int r = 1; r <= 5; r++) code.lload(2 * r).lstore(reg(r));
            for (int r = 6; r <= 9; r++) code.lconst_0().lstore(reg(r));
            code.aload(0).iload(1).invokevirtual(CD_CONTEXT, "framePointer", MTD_I_L).lstore(reg(10));
            // Promoted frame slots start as zero, like the stack a run maps.
            for (int local : slotLocals.values()) code.lconst_0().lstore(local);
            emitBody();
            emitOutOfLine();
        }

        void emitRegion() {
            loadContext();
            for (int r = 0; r <= 10; r++) code.aload(regsSlot).loadConstant(r).laload().lstore(reg(r));
            // Enter at the region's start (fall-through, subprogram entry) or at any branch target
            // that some other region of this subprogram jumps to.
            TreeSet<Integer> entries = new TreeSet<>();
            if (subEntry >= start && subEntry < end) entries.add(subEntry);
            for (int pc = body.nextSetBit(0); pc >= 0; pc = body.nextSetBit(pc + 1)) {
                if (pc >= start && pc < end) continue;
                Instruction insn = code(pc);
                int next = pc + insn.slots();
                if (ProgramStructure.fallsThrough(insn) && next >= start && next < end) entries.add(next);
                int target = insn instanceof Call ? -1 : JitCompiler.this.code.branchTarget(pc);
                if (target >= start && target < end) entries.add(target);
            }
            if (entries.size() == 1 && entries.first() == body.nextSetBit(start)) {
                emitBody();
            } else {
                List<SwitchCase> cases = new ArrayList<>();
                for (int pc : entries) cases.add(SwitchCase.of(pc, label(pc)));
                Label impossible = code.newLabel();
                code.iload(entryPcSlot).lookupswitch(impossible, cases);
                code.labelBinding(impossible);
                faultAt(-1, "internal error: no region entry");
                emitBody();
            }
            // Leaving the region: each exit pushes where to continue, then one shared block spills
            // the registers and returns that pc to the dispatcher.
            if (!exits.isEmpty()) {
                Label spill = code.newLabel();
                for (var exit : exits.entrySet()) {
                    code.labelBinding(exit.getValue()).loadConstant(exit.getKey()).goto_(spill);
                }
                code.labelBinding(spill).istore(entryPcSlot);
                for (int r = 0; r <= 10; r++) code.aload(regsSlot).loadConstant(r).lload(reg(r)).lastore();
                code.iload(entryPcSlot).ireturn();
            }
            emitOutOfLine();
        }

        private Instruction code(int pc) { return JitCompiler.this.code.at(pc); }

        private void emitBody() {
            for (int pc = body.nextSetBit(start); pc >= 0 && pc < end; pc = body.nextSetBit(pc + 1)) {
                Integer backEdge = unrolledLoops.get(pc);
                if (backEdge != null) {
                    emitUnrolled(pc, backEdge);
                    pc = backEdge;
                } else {
                    emitInstruction(pc, false);
                }
            }
        }

        /** Emits the instruction at {@code pc} at its label; {@code leaveExplicitly}: its fall-through is a goto. */
        private void emitInstruction(int pc, boolean leaveExplicitly) {
            Instruction insn = code(pc);
            code.labelBinding(label(pc));
            emit(pc, insn);
            if (!ProgramStructure.fallsThrough(insn)) return;
            int next = pc + insn.slots();
            if (next >= JitCompiler.this.code.length()) {
                faultAt(structure.lastInstruction(), "execution fell off the end of the program");
            } else if (next >= end || leaveExplicitly) {
                code.goto_(label(next)); // continues in another region, or after the loop's copies
            }
            // otherwise the next instruction is emitted right after this one
        }

        /**
         * Emits the loop {@code [head, backEdge]} {@value ProgramStructure#UNROLL} times in a row:
         * each copy's back-edge continues in the next copy, and only the last copy's back-edge and
         * {@code may_goto}s are cancellation points (its back-edge is also the JVM's safepoint
         * poll), so a tight loop pays for one check per {@value ProgramStructure#UNROLL}
         * iterations. Every cycle still passes the last copy: inside the loop the only backward
         * branch is its back-edge.
         * Copy 0 is the one the rest of the program enters; {@code may_goto} still counts down its
         * budget in every copy.
         */
        private void emitUnrolled(int head, int backEdge) {
            List<Map<Integer, Label>> copies = new ArrayList<>();
            for (int i = 0; i < ProgramStructure.UNROLL; i++) copies.add(i == 0 ? labels : new HashMap<>());
            for (int i = 0; i < ProgramStructure.UNROLL; i++) {
                loopCopy = new LoopCopy(head, backEdge, i, copies);
                for (int pc = body.nextSetBit(head); pc >= 0 && pc <= backEdge; pc = body.nextSetBit(pc + 1)) {
                    emitInstruction(pc, pc == backEdge && i < ProgramStructure.UNROLL - 1);
                }
            }
            loopCopy = null;
        }

        /** Where a branch at {@code pc} to {@code target} goes: inside an unrolled loop, its back-edge leads to the next copy. */
        private Label branchLabel(int pc, int target) {
            if (loopCopy != null && pc == loopCopy.backEdge() && target == loopCopy.head()) {
                int next = (loopCopy.index() + 1) % ProgramStructure.UNROLL;
                return loopCopy.labels().get(next).computeIfAbsent(target, k -> code.newLabel());
            }
            return label(target);
        }

        /** Whether the branch at {@code pc} to {@code target} is a cancellation point when taken. */
        private boolean polls(int pc, int target) {
            if (target > pc || noPoll.get(pc)) return false;
            return loopCopy == null || pc != loopCopy.backEdge() || loopCopy.last();
        }

        private void emitOutOfLine() {
            // Stubs may add stubs of their own (a back-edge stub holds a cancellation point).
            for (int i = 0; i < outOfLine.size(); i++) outOfLine.get(i).accept(code);
        }

        /** Emits {@code throw JitRuntime.fault(pc, reason)} inline. */
        private void faultAt(int pc, String reason) {
            code.loadConstant(pc).loadConstant(reason)
                    .invokestatic(CD_RUNTIME, "fault", MTD_FAULT_AT).athrow();
        }

        /** An out-of-line stub that throws a fault at {@code pc}; returns its label. */
        private Label faultStub(int pc, String reason) {
            Label stub = code.newLabel();
            outOfLine.add(c -> {
                c.labelBinding(stub);
                faultAt(pc, reason);
            });
            return stub;
        }

        /** Emits {@code body} covered by a handler that attributes {@code catchType} to {@code pc}. */
        private void guarded(int pc, ClassDesc catchType, Runnable body) {
            Label from = code.newLabel(), to = code.newLabel(), handler = code.newLabel();
            code.labelBinding(from);
            body.run();
            code.labelBinding(to);
            code.exceptionCatch(from, to, handler, catchType);
            outOfLine.add(c -> c.labelBinding(handler).loadConstant(pc)
                    .invokestatic(CD_RUNTIME, "fault", MTD_FAULT_CAUGHT).athrow());
        }

        /**
         * The cancellation check of point {@code pc}: a volatile read of the process-wide
         * {@link CancellationBeacon} word (a constant address: no register is held across the
         * loop) and a branch; only when the beacon is lit does the out-of-line path read this
         * invocation's request, through the context parameter (no extra live local), and carry on
         * when the request is someone else's. (Thread interrupts reach it as requests: the
         * watchdog turns them into one, see {@code Watchdog}.)
         */
        private void cancellationPoint(int pc) {
            if (!instrumented) return;
            Label stub = code.newLabel(), resume = code.newLabel();
            code.getstatic(CD_BEACON, "pending", CD_int).ifne(stub);
            code.labelBinding(resume);
            outOfLine.add(c -> c.labelBinding(stub).aload(0).loadConstant(pc)
                    .invokestatic(CD_RUNTIME, "pollInvocation", MTD_POLL).goto_(resume));
        }

        private void emit(int pc, Instruction insn) {
            switch (insn) {
                case Alu a -> { if (a.wide()) alu64(a); else alu32(a); }
                case Endian e -> endian(e);
                case AddrSpaceCast c -> addrSpaceCast(pc, c);
                case LoadImm64 l -> loadImm64(pc, l);
                case Load l when heapPlan.mode(pc) != HeapPlan.Mode.ADDRESS_SPACE -> heapLoad(pc, l);
                case Store s when heapPlan.mode(pc) != HeapPlan.Mode.ADDRESS_SPACE -> heapStore(pc, s.dst(), s.off(), s.size(), () -> pushStoreConstant(s));
                case StoreReg s when heapPlan.mode(pc) != HeapPlan.Mode.ADDRESS_SPACE -> heapStore(pc, s.dst(), s.off(), s.size(), () -> {
                    code.lload(reg(s.src()));
                    narrow(s.size());
                });
                case Atomic a when heapPlan.mode(pc) != HeapPlan.Mode.ADDRESS_SPACE -> heapAtomic(pc, a);
                case Load l when l.src() == 10 && !slotLocals.isEmpty() -> loadSlot(l);
                case Store s when s.dst() == 10 && !slotLocals.isEmpty() ->
                        storeSlot(s.size(), s.off(), () -> code.loadConstant((long) s.imm()));
                case StoreReg s when s.dst() == 10 && !slotLocals.isEmpty() ->
                        storeSlot(s.size(), s.off(), () -> code.lload(reg(s.src())));
                case Load l when inFrame(l.src(), l.off(), l.size()) -> frameLoad(l);
                case Store s when inFrame(s.dst(), s.off(), s.size()) -> frameStore(s.size(), s.off(), () -> code.loadConstant((long) s.imm()));
                case StoreReg s when inFrame(s.dst(), s.off(), s.size()) -> frameStore(s.size(), s.off(), () -> code.lload(reg(s.src())));
                case Load l when hostRegions[pc] != null -> hostLoad(pc, l, hostRegions[pc]);
                case Store s when hostRegions[pc] != null -> hostStore(pc, s.dst(), s.off(), s.size(), hostRegions[pc],
                        () -> code.loadConstant((long) s.imm()));
                case StoreReg s when hostRegions[pc] != null -> hostStore(pc, s.dst(), s.off(), s.size(), hostRegions[pc],
                        () -> code.lload(reg(s.src())));
                case Load l -> guarded(pc, CD_EXTENSION_FAULT, () -> addressSpaceLoad(l));
                case Store s -> guarded(pc, CD_EXTENSION_FAULT, () -> addressSpaceStore(s.dst(), s.off(), s.size(),
                        () -> code.loadConstant((long) s.imm())));
                case StoreReg s -> guarded(pc, CD_EXTENSION_FAULT, () -> addressSpaceStore(s.dst(), s.off(), s.size(),
                        () -> code.lload(reg(s.src()))));
                case Atomic a -> guarded(pc, CD_EXTENSION_FAULT, () -> atomic(a));
                case Jump j -> jump(pc, j);
                case Goto g -> {
                    int target = pc + 1 + g.offset();
                    if (polls(pc, target)) cancellationPoint(pc);
                    code.goto_(branchLabel(pc, target));
                }
                case MayGoto m -> {
                    int target = pc + 1 + m.off();
                    if (!noPoll.get(pc) && (loopCopy == null || !loopCopy.covers(pc) || loopCopy.last())) cancellationPoint(pc);
                    // if (budget == 0) goto target; budget--;
                    code.aload(0).getfield(CD_CONTEXT, "loopBudget", CD_long).lconst_0().lcmp().ifeq(label(target));
                    code.aload(0).dup().getfield(CD_CONTEXT, "loopBudget", CD_long).lconst_1().lsub()
                            .putfield(CD_CONTEXT, "loopBudget", CD_long);
                }
                case Call c -> call(pc, c);
                case CallX c -> callx(pc, c);
                case Exit e -> {
                    if (region) {
                        code.aload(regsSlot).loadConstant(0).lload(reg(0)).lastore().iconst_m1().ireturn();
                    } else {
                        code.lload(reg(0)).lreturn();
                    }
                }
            }
        }

        /**
         * Whether an access is a constant-offset stack slot of the current frame: then it goes
         * straight to the stack segment at a constant offset from the frame, and cannot fault
         * (every frame's 512 bytes lie inside the stack region whatever the call depth).
         */
        private boolean inFrame(int base, short off, Size size) {
            return base == 10 && fixedFramePointer && off >= -RuntimeLimits.STACK_FRAME_SIZE && off <= -size.bytes();
        }

        /** The local holding the frame slot that contains offset {@code off}, and the bit position of that byte in it. */
        private int slotLocal(short off) { return slotLocals.get(Math.floorDiv(off, 8) * 8); }

        private static int slotShift(short off) { return 8 * Math.floorMod(off, 8); }

        private static long sizeMask(Size size) { return size == Size.DW ? -1L : (1L << (8 * size.bytes())) - 1; }

        /** A load from a promoted frame slot: the slot's bytes in little-endian order, zero- or sign-extended. */
        private void loadSlot(Load l) {
            code.lload(slotLocal(l.off()));
            storeLoadedFromWord(l);
        }

        /** With the 8-byte word holding {@code l}'s bytes pushed: takes them out, zero- or sign-extended, into its register. */
        private void storeLoadedFromWord(Load l) {
            int shift = slotShift(l.off());
            if (shift > 0) code.loadConstant(shift).lushr();
            // A sign-extending load truncates the word itself (storeLoaded); a zero-extending one masks it.
            if (l.size() != Size.DW && !l.signed()) code.loadConstant(sizeMask(l.size())).land();
            storeLoaded(l);
        }

        /** A store into a promoted frame slot: replaces the bytes it covers, keeps the others. */
        private void storeSlot(Size size, short off, Runnable pushValue) {
            int local = slotLocal(off);
            if (size == Size.DW) {
                pushValue.run();
                code.lstore(local);
                return;
            }
            int shift = slotShift(off);
            long mask = sizeMask(size);
            code.lload(local).loadConstant(~(mask << shift)).land();
            pushValue.run();
            code.loadConstant(mask).land();
            if (shift > 0) code.loadConstant(shift).lshl();
            code.lor().lstore(local);
        }

        /** Pushes the stack's bytes and the region offset of frame offset {@code off}. */
        private void frameOffset(short off) {
            code.aload(stackBytesSlot).lload(frameSlot);
            if (off != 0) code.loadConstant((long) off).ladd();
        }

        /**
         * A load from the current frame at a constant offset: an element or a byte-array view of
         * the stack's {@code byte[]}, which costs a few instructions and compiler nodes where a
         * segment access inlines a tree of checks — and in a large program the nodes ran out,
         * after which C2 stopped inlining anything at all (see {@link #zeroExtend()}).
         */
        private void frameLoad(Load l) {
            frameOffset(l.off());
            code.invokestatic(CD_RUNTIME, "bytes" + loadSuffix(l), MTD_BYTES_GET).lstore(reg(l.dst()));
        }

        /** A store to the current frame at a constant offset; {@code pushValue} pushes the value as a long. */
        private void frameStore(Size size, short off, Runnable pushValue) {
            frameOffset(off);
            pushValue.run();
            code.invokestatic(CD_RUNTIME, "bytesSet" + size.bytes() * 8, MTD_BYTES_SET);
        }

        /** The generic load: {@code AddressSpace.load} finds the region, checks the access and faults as the interpreter does. */
        private void addressSpaceLoad(Load l) {
            code.aload(memSlot);
            address(l.src(), l.off());
            code.loadConstant(l.size().bytes()).invokevirtual(CD_ADDRESS_SPACE, "load", MTD_LOAD);
            storeLoaded(l);
        }

        /** The generic store ({@link #addressSpaceLoad}'s); {@code pushValue} pushes the value as a long. */
        private void addressSpaceStore(int base, short off, Size size, Runnable pushValue) {
            code.aload(memSlot);
            address(base, off);
            code.loadConstant(size.bytes());
            pushValue.run();
            code.invokevirtual(CD_ADDRESS_SPACE, "store", MTD_STORE);
        }

        /**
         * The name {@link JitRuntime}'s accessors for a load of {@code l}'s width and signedness end
         * with: {@code get}, {@code bytes} and {@code word} followed by {@code 64}, {@code U8}, {@code S16}...
         */
        private static String loadSuffix(Load l) {
            return l.size() == Size.DW ? "64" : (l.signed() ? "S" : "U") + l.size().bytes() * 8;
        }

        /** Pushes {@code reg + off} as a long. */
        private void address(int base, short off) {
            code.lload(reg(base));
            if (off != 0) code.loadConstant((long) off).ladd();
        }

        private void src64(Operand src) {
            switch (src) {
                case Operand.Reg r -> code.lload(reg(r.reg()));
                case Operand.Imm i -> code.loadConstant((long) i.value());
            }
        }

        private void src32(Operand src) {
            switch (src) {
                case Operand.Reg r -> code.lload(reg(r.reg())).l2i();
                case Operand.Imm i -> code.loadConstant(i.value());
            }
        }

        /** Pushes the shift amount as an int; the JVM masks it by 63 or 31 exactly as eBPF does. */
        private void shiftAmount(Operand src) { src32(src); }

        private void alu64(Alu a) {
            int dst = reg(a.dst());
            AluOp op = a.op();
            switch (op) {
                case MOV -> src64(a.src());
                case MOVSX8 -> { src64(a.src()); code.l2i().i2b().i2l(); }
                case MOVSX16 -> { src64(a.src()); code.l2i().i2s().i2l(); }
                case MOVSX32 -> { src64(a.src()); code.l2i().i2l(); }
                case NEG -> code.lload(dst).lneg();
                case LSH -> { code.lload(dst); shiftAmount(a.src()); code.lshl(); }
                case RSH -> { code.lload(dst); shiftAmount(a.src()); code.lushr(); }
                case ARSH -> { code.lload(dst); shiftAmount(a.src()); code.lshr(); }
                default -> {
                    code.lload(dst);
                    src64(a.src());
                    switch (op) {
                        case ADD -> code.ladd();
                        case SUB -> code.lsub();
                        case MUL -> code.lmul();
                        case OR -> code.lor();
                        case AND -> code.land();
                        case XOR -> code.lxor();
                        case DIV -> code.invokestatic(CD_RUNTIME, "udiv64", MTD_LL_L);
                        case SDIV -> code.invokestatic(CD_RUNTIME, "sdiv64", MTD_LL_L);
                        case MOD -> code.invokestatic(CD_RUNTIME, "umod64", MTD_LL_L);
                        case SMOD -> code.invokestatic(CD_RUNTIME, "smod64", MTD_LL_L);
                        default -> throw new IllegalStateException(op.toString());
                    }
                }
            }
            code.lstore(dst);
        }

        private void alu32(Alu a) {
            int dst = reg(a.dst());
            AluOp op = a.op();
            switch (op) {
                case MOV, MOVSX32 -> src32(a.src());
                case MOVSX8 -> { src32(a.src()); code.i2b(); }
                case MOVSX16 -> { src32(a.src()); code.i2s(); }
                case NEG -> code.lload(dst).l2i().ineg();
                case LSH -> { code.lload(dst).l2i(); shiftAmount(a.src()); code.ishl(); }
                case RSH -> { code.lload(dst).l2i(); shiftAmount(a.src()); code.iushr(); }
                case ARSH -> { code.lload(dst).l2i(); shiftAmount(a.src()); code.ishr(); }
                default -> {
                    code.lload(dst).l2i();
                    src32(a.src());
                    switch (op) {
                        case ADD -> code.iadd();
                        case SUB -> code.isub();
                        case MUL -> code.imul();
                        case OR -> code.ior();
                        case AND -> code.iand();
                        case XOR -> code.ixor();
                        case DIV -> code.invokestatic(CD_RUNTIME, "udiv32", MTD_II_I);
                        case SDIV -> code.invokestatic(CD_RUNTIME, "sdiv32", MTD_II_I);
                        case MOD -> code.invokestatic(CD_RUNTIME, "umod32", MTD_II_I);
                        case SMOD -> code.invokestatic(CD_RUNTIME, "smod32", MTD_II_I);
                        default -> throw new IllegalStateException(op.toString());
                    }
                }
            }
            zeroExtend();
            code.lstore(dst);
        }

        /**
         * Zero-extends the int on the stack to a long, in plain bytecode. {@code Integer.toUnsignedLong}
         * and its kin cost nothing only while C2 still inlines into the method: a large program
         * exhausts C2's inlining budget ({@code NodeCountInliningCutoff}), and from there on each
         * of them was a real call, in the middle of loops.
         */
        private void zeroExtend() {
            code.i2l().loadConstant(0xffff_ffffL).land();
        }

        /** Zero-extends a loaded byte, short or int (on the stack as an int) to a long. */
        private void zeroExtend(Size size) {
            switch (size) {
                case B -> code.loadConstant(0xff).iand().i2l();
                case H -> code.loadConstant(0xffff).iand().i2l();
                case W -> zeroExtend();
                case DW -> throw new IllegalStateException("a 64-bit load needs no extension");
            }
        }

        private void endian(Endian e) {
            int dst = reg(e.dst());
            code.lload(dst);
            if (e.kind() == ByteSwap.TO_LE) {
                // The JVM's view of memory here is little-endian already: only truncate.
                switch (e.bits()) {
                    case 16 -> code.loadConstant(0xffffL).land();
                    case 32 -> code.loadConstant(0xffffffffL).land();
                    default -> {}
                }
            } else {
                switch (e.bits()) {
                    case 16 -> { code.l2i().invokestatic(CD_Integer, "reverseBytes", MTD_I_I).loadConstant(16).iushr().i2l(); }
                    case 32 -> { code.l2i().invokestatic(CD_Integer, "reverseBytes", MTD_I_I); zeroExtend(); }
                    default -> code.invokestatic(CD_Long, "reverseBytes", MTD_L_L);
                }
            }
            code.lstore(dst);
        }

        private void loadImm64(int pc, LoadImm64 l) {
            switch (l.pseudo()) {
                case LoadImm64.PLAIN -> code.loadConstant(l.value()).lstore(reg(l.dst()));
                case LoadImm64.FUNC -> {
                    // A function pointer is the code window's base | the subprogram's entry slot
                    // (checked to be an instruction at load time).
                    code.loadConstant(FunctionPointers.of(pc + 1 + l.imm())).lstore(reg(l.dst()));
                }
                default -> {
                    Long value = pseudoValues.get(pc);
                    if (value != null) {
                        code.loadConstant(value).lstore(reg(l.dst()));
                    } else {
                        faultAt(pc, "lddw with pseudo source " + LoadImm64.pseudoName(l.pseudo()) + " (" + l.pseudo()
                                + ") is not resolved: no map or BTF object is bound to it");
                    }
                }
            }
        }

        /** {@code addr_space_cast}: Linux's conversions between the heap's user and kernel views. */
        private void addrSpaceCast(int pc, AddrSpaceCast c) {
            if (heap == null) {
                faultAt(pc, "addr_space_cast needs an extension heap, and none is bound");
            } else if (c.immediate() == HeapAccess.CAST_KERN) {
                // HeapAccess.castKern(mask, value): the offset modulo the heap's size (mask < 2^32).
                code.lload(reg(c.src())).loadConstant(heap.mask() & 0xffffffffL).land().lstore(reg(c.dst()));
            } else if (c.immediate() == HeapAccess.CAST_USER) {
                code.loadConstant(heap.userBase()).lload(reg(c.src()))
                        .invokestatic(CD_HEAP_ACCESS, "castUser", MTD_CAST_USER).lstore(reg(c.dst()));
            } else {
                faultAt(pc, "addr_space_cast between address spaces " + c.srcAddressSpace() + " and " + c.dstAddressSpace() + " is not supported");
            }
        }

        /**
         * Confines the base register of a guarded heap access in place ({@code base &= mask}, so
         * later accesses whose guard the verifier elided reuse it) and, in checked mode, tests
         * that the bytes are allocated.
         */
        private void confine(int pc, int base, short off, Size size) {
            if (heapPlan.mode(pc) == HeapPlan.Mode.HEAP_GUARDED && instrumented) {
                code.lload(reg(base)).loadConstant(heap.mask()).land().lstore(reg(base));
            }
            if (heap.checked()) {
                code.getstatic(programClass, HEAP_FIELD, CD_HEAP_MEMORY).lload(reg(base)).loadConstant((long) off).ladd()
                        .loadConstant(size.bytes()).invokestatic(CD_HEAP_ACCESS, "checkAllocated", MTD_CHECK_ALLOCATED);
            }
        }

        /**
         * Stores the zero-extended 64-bit value a generic load left on the stack into the load's
         * destination, sign-extending it first for a sign-extending load.
         */
        private void storeLoaded(Load l) {
            if (l.signed()) {
                code.l2i();
                switch (l.size()) {
                    case B -> code.i2b();
                    case H -> code.i2s();
                    default -> {}
                }
                code.i2l();
            }
            code.lstore(reg(l.dst()));
        }

        /**
         * A load the verifier proved to reach {@code region}: {@code JitRuntime.getU32(segment, (u32) addr)}
         * (and so on) on the segment {@link JitContext} finds for the address, kept in locals while
         * the window stays the same. The segment's own bounds check stays: a verifier bug faults,
         * it never reads beyond the region.
         */
        private void hostLoad(int pc, Load l, HostRegion region) {
            guardedHostAccess(pc, l.src(), l.off(), l.size(), false, () -> {
                Label generic = code.newLabel(), loaded = code.newLabel();
                if (region == HostRegion.STACK) {
                    stackElement(l.src(), l.off(), generic);
                    code.invokestatic(CD_RUNTIME, "bytes" + loadSuffix(l), MTD_BYTES_GET).lstore(reg(l.dst())).goto_(loaded);
                    code.labelBinding(generic);
                    addressSpaceLoad(l);
                    code.labelBinding(loaded);
                    return;
                }
                String getter = "get" + loadSuffix(l);
                if (fixedValueMap[pc] >= 0) {
                    // An address outside the map's values (what a wrong fact would give) is the
                    // generic load's: one call, where a window of its own would inline a second
                    // segment access that never runs (see hostLoadThroughArray).
                    fixedValues(pc, l.src(), l.off(), generic);
                    code.invokestatic(CD_RUNTIME, getter, MTD_HOST_GET).lstore(reg(l.dst())).goto_(loaded);
                    code.labelBinding(generic);
                    addressSpaceLoad(l);
                    code.labelBinding(loaded);
                    return;
                }
                code.labelBinding(generic);
                if (region.backing == HostRegion.Backing.SEGMENT) hostLoadThroughWindow(l, region, getter);
                else hostLoadThroughArray(l, region);
                code.labelBinding(loaded);
            });
        }

        /**
         * {@link #hostLoad} of a packet or context: through the array behind the address's window
         * (looked up when the window changes), or — for a region that is not all of one array, or
         * an address the array does not hold — the generic load. The generic path is one call: an
         * inline segment access, which expands into a tree of small methods, kept every program
         * method past C1's size limit ("out of virtual registers"; docs/jit.md), and hooks back
         * their packets and contexts with arrays, so it never runs on the hot path.
         */
        private void hostLoadThroughArray(Load l, HostRegion region) {
            Label generic = code.newLabel(), done = code.newLabel();
            int array = hostArraySlot(region, false);
            onWindowChange(l.src(), l.off(), hostWindowSlot(region, false), () -> {
                pushArrayOf(l.src(), l.off(), l.size(), false, region);
                code.astore(array);
            });
            code.aload(array).ifnull(generic);
            code.aload(array);
            address(l.src(), l.off());
            code.loadConstant(0xffff_ffffL).land();
            if (region.backing == HostRegion.Backing.BYTES) code.invokestatic(CD_RUNTIME, "bytes" + loadSuffix(l), MTD_BYTES_GET);
            else code.invokestatic(CD_RUNTIME, "word" + loadSuffix(l), MTD_WORDS_GET);
            code.lstore(reg(l.dst())).goto_(done);
            code.labelBinding(generic);
            addressSpaceLoad(l);
            code.labelBinding(done);
        }

        /**
         * For a stack access through a pointer (the verifier proved it reaches the stack; r10 at a
         * constant offset has its own path): if {@code base + off} lies in the run's stack window,
         * pushes the stack's {@code byte[]} and the offset {@code (u32) (base + off)}; otherwise
         * jumps to {@code elsewhere}, the address space's generic access, which faults as it would
         * (a verifier or host bug never reaches past the stack's array). Every frame of the run
         * lives in that one array, so no region needs looking up or caching, and a loop that
         * writes its stack through a pointer keeps no window, segment or array of its own live.
         */
        private void stackElement(int base, short off, Label elsewhere) {
            address(base, off);
            code.loadConstant(32).lushr().lload(stackWindowSlot).lcmp().ifne(elsewhere);
            code.aload(stackBytesSlot);
            address(base, off);
            code.loadConstant(0xffff_ffffL).land();
        }

        /** {@link #hostLoad} of a region not backed by an array: through the segment cached for the address's window. */
        private void hostLoadThroughWindow(Load l, HostRegion region, String getter) {
            hostAddress(l.src(), l.off(), l.size(), false, region);
            code.invokestatic(CD_RUNTIME, getter, MTD_HOST_GET).lstore(reg(l.dst()));
        }

        /**
         * For an access to a map whose values stay in one region: if {@code base + off} lies in that
         * region's window, pushes the region's static final segment and the offset
         * {@code (u32) (base + off)}; otherwise jumps to {@code elsewhere} (the generic path, which
         * finds the region or the fault). The segment's bounds check stays.
         */
        private void fixedValues(int pc, int base, short off, Label elsewhere) {
            int map = fixedValueMap[pc];
            address(base, off);
            code.loadConstant(32).lushr().loadConstant(fixedValues.get(map).window()).lcmp().ifne(elsewhere);
            code.getstatic(programClass, mapValuesField(map), CD_MEMORY_SEGMENT);
            address(base, off);
            code.loadConstant(0xffff_ffffL).land();
        }

        /** A store the verifier proved to reach {@code region}; {@code value} pushes the value as a long. */
        private void hostStore(int pc, int base, short off, Size size, HostRegion region, Runnable value) {
            guardedHostAccess(pc, base, off, size, true, () -> {
                Label generic = code.newLabel(), stored = code.newLabel();
                if (region == HostRegion.STACK) {
                    stackElement(base, off, generic);
                    value.run();
                    code.invokestatic(CD_RUNTIME, "bytesSet" + size.bytes() * 8, MTD_BYTES_SET).goto_(stored);
                    code.labelBinding(generic);
                    addressSpaceStore(base, off, size, value);
                    code.labelBinding(stored);
                    return;
                }
                if (fixedValueMap[pc] >= 0) {
                    fixedValues(pc, base, off, generic);
                    value.run();
                    code.invokestatic(CD_RUNTIME, "set" + size.bytes() * 8, MTD_HOST_SET).goto_(stored);
                }
                code.labelBinding(generic);
                hostStoreThroughWindow(base, off, size, region, value);
                code.labelBinding(stored);
            });
        }

        /** {@link #hostStore} through the region cached for the address's window. */
        private void hostStoreThroughWindow(int base, short off, Size size, HostRegion region, Runnable value) {
            HostRegion.Backing backing = region.backing;
            if (backing == HostRegion.Backing.SEGMENT || backing == HostRegion.Backing.WORDS && size != Size.DW) {
                hostAddress(base, off, size, true, region);
                value.run();
                code.invokestatic(CD_RUNTIME, "set" + size.bytes() * 8, MTD_HOST_SET);
                return;
            }
            Label segmentPath = code.newLabel(), done = code.newLabel();
            arrayOrSegment(base, off, size, true, region, segmentPath);
            value.run();
            if (backing == HostRegion.Backing.BYTES) {
                code.invokestatic(CD_RUNTIME, "bytesSet" + size.bytes() * 8, MTD_BYTES_SET).goto_(done);
            } else {
                code.invokestatic(CD_RUNTIME, "wordSet64", MTD_WORDS_SET).goto_(done);
            }
            code.labelBinding(segmentPath);
            hostOffset(base, off, true, region);
            value.run();
            code.invokestatic(CD_RUNTIME, "set" + size.bytes() * 8, MTD_HOST_SET);
            code.labelBinding(done);
        }

        /**
         * Looks the region up if the window changed, then: when its segment is a whole array of the
         * region's {@link HostRegion.Backing} (every packet, context and stack a hook makes is one),
         * pushes the array and the offset; otherwise jumps to {@code segmentPath}. The array's own
         * bounds check is the region's ({@link AddressSpace#wordsAt} and {@link AddressSpace#bytesAt}
         * give only arrays exactly as long as their segment), and an access that straddles the end
         * reads or writes nothing before it fails. Array elements cost a few instructions and
         * compiler nodes where a segment access inlines a tree of checks, and C2 stops inlining
         * once a method's nodes run out.
         */
        private void arrayOrSegment(int base, short off, Size size, boolean write, HostRegion region, Label segmentPath) {
            switchWindow(base, off, size, write, region);
            code.aload(hostArraySlot(region, write)).ifnull(segmentPath);
            code.aload(hostArraySlot(region, write));
            address(base, off);
            code.loadConstant(0xffff_ffffL).land();
        }

        /** Pushes the cached segment and the offset {@code (u32) (base + off)} (after {@link #switchWindow}). */
        private void hostOffset(int base, short off, boolean write, HostRegion region) {
            code.aload(hostSegmentSlot(region, write));
            address(base, off);
            code.loadConstant(0xffff_ffffL).land();
        }

        /**
         * Pushes the region's segment for {@code base + off} and the offset {@code (u32) (base + off)}:
         * for regions without an array, and for stores (whose windows always look their segment up).
         */
        private void hostAddress(int base, short off, Size size, boolean write, HostRegion region) {
            assert region.backing == HostRegion.Backing.SEGMENT || write : "a load window of " + region + " has no segment";
            switchWindow(base, off, size, write, region);
            hostOffset(base, off, write, region);
        }

        /**
         * {@code if ((addr >>> 32) != window) { segment = ctx.<region>(addr, size, write); array =
         * ctx.bytes|words(addr, size, write) (for array-backed regions); window = addr >>> 32 }}:
         * the window of a store, or of a load from a region without an array (loads of packets and
         * contexts look only for the array: {@link #hostLoadThroughArray}). Stores look the segment
         * up and then the array: with a branch that skips the segment when there is an array, C2
         * compiled the list walk's instrumented loop (two context stores follow it) 6% slower in a
         * JVM that had run other suites first.
         */
        private void switchWindow(int base, short off, Size size, boolean write, HostRegion region) {
            onWindowChange(base, off, hostWindowSlot(region, write), () -> {
                code.aload(0);
                address(base, off);
                code.loadConstant(size.bytes()).loadConstant(write ? 1 : 0)
                        .invokevirtual(CD_CONTEXT, region.method, MTD_HOST_SEGMENT).astore(hostSegmentSlot(region, write));
                if (region.backing != HostRegion.Backing.SEGMENT) {
                    pushArrayOf(base, off, size, write, region);
                    code.astore(hostArraySlot(region, write));
                }
            });
        }

        /** {@code if ((base + off) >>> 32 != window) { resolve; window = (base + off) >>> 32 }}: a cached window's test and refresh. */
        private void onWindowChange(int base, short off, int window, Runnable resolve) {
            Label cached = code.newLabel();
            address(base, off);
            code.loadConstant(32).lushr().lload(window).lcmp().ifeq(cached);
            resolve.run();
            address(base, off);
            code.loadConstant(32).lushr().lstore(window);
            code.labelBinding(cached);
        }

        /** Pushes {@code ctx.bytes|words(base + off, size, write)}: the array behind the window, or null. */
        private void pushArrayOf(int base, short off, Size size, boolean write, HostRegion region) {
            code.aload(0);
            address(base, off);
            code.loadConstant(size.bytes()).loadConstant(write ? 1 : 0);
            if (region.backing == HostRegion.Backing.BYTES) code.invokevirtual(CD_CONTEXT, "bytes", MTD_BYTES_OF);
            else code.invokevirtual(CD_CONTEXT, "words", MTD_WORDS_OF);
        }

        /**
         * {@code body} covered by a handler that turns any failure into the address space's fault
         * for the same access at {@code pc} (the registers it reads are unchanged when it throws).
         */
        private void guardedHostAccess(int pc, int base, short off, Size size, boolean write, Runnable body) {
            Label from = code.newLabel(), to = code.newLabel(), handler = code.newLabel();
            code.labelBinding(from);
            body.run();
            code.labelBinding(to);
            code.exceptionCatch(from, to, handler, CD_RUNTIME_EXCEPTION);
            outOfLine.add(c -> {
                c.labelBinding(handler).aload(memSlot);
                address(base, off);
                c.loadConstant(size.bytes()).loadConstant(write ? 1 : 0).loadConstant(pc)
                        .invokestatic(CD_RUNTIME, "hostAccessFault", MTD_HOST_ACCESS_FAULT).athrow();
            });
        }

        /** Pushes the heap segment, the layout of {@code size} and {@code GUARD + base + off}. */
        private void heapAddress(int base, short off, Size size) {
            MemoryAccess a = MemoryAccess.of(size);
            code.getstatic(programClass, HEAP_SEGMENT_FIELD, CD_MEMORY_SEGMENT).getstatic(CD_RUNTIME, a.field, a.layout)
                    .lload(reg(base)).loadConstant(HeapMemory.GUARD + off).ladd();
        }

        private void heapLoad(int pc, Load l) {
            MemoryAccess a = MemoryAccess.of(l.size());
            if (heapPlan.mode(pc) == HeapPlan.Mode.MIXED) {
                guarded(pc, CD_RUNTIME_EXCEPTION, () -> {
                    code.aload(memSlot).getstatic(programClass, HEAP_FIELD, CD_HEAP_MEMORY).lload(reg(l.src())).loadConstant((int) l.off())
                            .loadConstant(l.size().bytes()).invokestatic(CD_HEAP_ACCESS, "loadMixed", MTD_LOAD_MIXED);
                    storeLoaded(l);
                });
                return;
            }
            guarded(pc, CD_RUNTIME_EXCEPTION, () -> {
                confine(pc, l.src(), l.off(), l.size());
                heapAddress(l.src(), l.off(), l.size());
                code.invokeinterface(CD_MEMORY_SEGMENT, "get", MethodTypeDesc.of(a.type, a.layout, CD_long));
                if (l.size() != Size.DW) {
                    if (l.signed()) code.i2l();
                    else zeroExtend(l.size());
                }
                code.lstore(reg(l.dst()));
            });
        }

        /** A heap store; {@code value} pushes the value in the JVM type of {@code size} (after the base is confined). */
        private void heapStore(int pc, int base, short off, Size size, Runnable value) {
            MemoryAccess a = MemoryAccess.of(size);
            if (heapPlan.mode(pc) == HeapPlan.Mode.MIXED) {
                guarded(pc, CD_RUNTIME_EXCEPTION, () -> {
                    code.aload(memSlot).getstatic(programClass, HEAP_FIELD, CD_HEAP_MEMORY).lload(reg(base)).loadConstant((int) off)
                            .loadConstant(size.bytes());
                    value.run();
                    widen(size);
                    code.invokestatic(CD_HEAP_ACCESS, "storeMixed", MTD_STORE_MIXED);
                });
                return;
            }
            guarded(pc, CD_RUNTIME_EXCEPTION, () -> {
                confine(pc, base, off, size);
                heapAddress(base, off, size);
                value.run();
                code.invokeinterface(CD_MEMORY_SEGMENT, "set", MethodTypeDesc.of(CD_void, a.layout, CD_long, a.type));
            });
        }

        /** Pushes a store's immediate in the JVM type of its size. */
        private void pushStoreConstant(Store s) {
            switch (s.size()) {
                case B -> code.loadConstant((int) (byte) s.imm());
                case H -> code.loadConstant((int) (short) s.imm());
                case W -> code.loadConstant(s.imm());
                case DW -> code.loadConstant((long) s.imm());
            }
        }

        /** Narrows a {@code long} on the stack to the JVM type of {@code size}. */
        private void narrow(Size size) {
            switch (size) {
                case B -> code.l2i().i2b();
                case H -> code.l2i().i2s();
                case W -> code.l2i();
                case DW -> {}
            }
        }

        /** Widens a value of the JVM type of {@code size} back to a {@code long} (sign-extending; the store truncates). */
        private void widen(Size size) {
            if (size != Size.DW) code.i2l();
        }

        private void heapAtomic(int pc, Atomic a) {
            guarded(pc, CD_RUNTIME_EXCEPTION, () -> {
                boolean cmpxchg = a.op() == AtomicOp.CMPXCHG;
                if (heapPlan.mode(pc) == HeapPlan.Mode.MIXED) {
                    code.aload(memSlot).getstatic(programClass, HEAP_FIELD, CD_HEAP_MEMORY).lload(reg(a.dst())).loadConstant((int) a.off())
                            .loadConstant(a.size().bytes());
                    if (cmpxchg) {
                        code.lload(reg(0)).lload(reg(a.src())).invokestatic(CD_HEAP_ACCESS, "compareAndExchangeMixed", MTD_CMPXCHG_MIXED);
                    } else {
                        code.getstatic(CD_ATOMIC_OP, a.op().name(), CD_ATOMIC_OP).lload(reg(a.src()))
                                .invokestatic(CD_HEAP_ACCESS, "getAndApplyMixed", MTD_ATOMIC_MIXED);
                    }
                } else {
                    confine(pc, a.dst(), a.off(), a.size());
                    code.getstatic(programClass, HEAP_SEGMENT_FIELD, CD_MEMORY_SEGMENT)
                            .lload(reg(a.dst())).loadConstant(HeapMemory.GUARD + a.off()).ladd().loadConstant(a.size().bytes());
                    if (cmpxchg) {
                        code.lload(reg(0)).lload(reg(a.src())).invokestatic(CD_HEAP_ACCESS, "compareAndExchange", MTD_HEAP_CMPXCHG);
                    } else {
                        code.getstatic(CD_ATOMIC_OP, a.op().name(), CD_ATOMIC_OP).lload(reg(a.src()))
                                .invokestatic(CD_HEAP_ACCESS, "getAndApply", MTD_HEAP_GET_AND_APPLY);
                    }
                }
                if (cmpxchg) code.lstore(reg(0));
                else if (a.fetch()) code.lstore(reg(a.src()));
                else code.pop2();
            });
        }

        /** Atomics are real atomics of the address space (aligned, or serialised on byte-aligned memory). */
        private void atomic(Atomic a) {
            code.aload(memSlot);
            address(a.dst(), a.off());
            code.loadConstant(a.size().bytes());
            if (a.op() == AtomicOp.CMPXCHG) {
                code.lload(reg(0)).lload(reg(a.src()))
                        .invokevirtual(CD_ADDRESS_SPACE, "compareAndExchange", MTD_COMPARE_AND_EXCHANGE).lstore(reg(0));
            } else {
                code.getstatic(CD_ATOMIC_OP, a.op().name(), CD_ATOMIC_OP).lload(reg(a.src()))
                        .invokevirtual(CD_ADDRESS_SPACE, "getAndApply", MTD_GET_AND_APPLY);
                if (a.fetch()) code.lstore(reg(a.src()));
                else code.pop2();
            }
        }

        private void jump(int pc, Jump j) {
            int target = pc + 1 + j.off();
            Label taken = branchLabel(pc, target);
            if (polls(pc, target)) {
                // A taken back-edge is a cancellation point; the check sits on the taken path only.
                Label destination = taken, backEdge = code.newLabel();
                outOfLine.add(c -> {
                    c.labelBinding(backEdge);
                    cancellationPoint(pc);
                    c.goto_(destination);
                });
                taken = backEdge;
            }
            JumpOp op = j.op();
            if (j.wide()) {
                code.lload(reg(j.dst()));
                src64(j.src());
                switch (op) {
                    case JSET -> code.land().lconst_0().lcmp().ifne(taken);
                    case JEQ -> code.lcmp().ifeq(taken);
                    case JNE -> code.lcmp().ifne(taken);
                    case JSGT -> code.lcmp().ifgt(taken);
                    case JSGE -> code.lcmp().ifge(taken);
                    case JSLT -> code.lcmp().iflt(taken);
                    case JSLE -> code.lcmp().ifle(taken);
                    default -> {
                        code.invokestatic(CD_Long, "compareUnsigned", MTD_LL_I);
                        unsignedBranch(op, taken);
                    }
                }
            } else {
                code.lload(reg(j.dst())).l2i();
                src32(j.src());
                switch (op) {
                    case JSET -> code.iand().ifne(taken);
                    case JEQ -> code.if_icmpeq(taken);
                    case JNE -> code.if_icmpne(taken);
                    case JSGT -> code.if_icmpgt(taken);
                    case JSGE -> code.if_icmpge(taken);
                    case JSLT -> code.if_icmplt(taken);
                    case JSLE -> code.if_icmple(taken);
                    default -> {
                        code.invokestatic(CD_Integer, "compareUnsigned", MTD_II_I);
                        unsignedBranch(op, taken);
                    }
                }
            }
        }

        private void unsignedBranch(JumpOp op, Label taken) {
            switch (op) {
                case JGT -> code.ifgt(taken);
                case JGE -> code.ifge(taken);
                case JLT -> code.iflt(taken);
                case JLE -> code.ifle(taken);
                default -> throw new IllegalStateException(op.toString());
            }
        }

        private void call(int pc, Call c) {
            switch (c.kind()) {
                case HELPER -> {
                    if (!helperSlots.containsKey(c.imm())) {
                        faultAt(pc, "unknown helper " + c.imm());
                        return;
                    }
                    recordCallDepth();
                    if (stackKeyLookups.contains(pc)) {
                        lookupWithStackKey(pc);
                        return;
                    }
                    if (boundSlots.containsKey(pc) && keepsRegions.contains(pc)) {
                        // Bound to its map and known to leave the regions alone: no need to
                        // resolve them again or to look for a tail call.
                        callHostFunctionKeepingRegions(pc, boundField(pc));
                        return;
                    }
                    callHostFunction(pc, boundSlots.containsKey(pc) ? boundField(pc) : helperField(c.imm()));
                    tailCallCheck();
                }
                case LOCAL -> localCall(pc, pc + 1 + c.imm());
                case KFUNC -> {
                    if (!kfuncSlots.containsKey(c.imm())) {
                        faultAt(pc, "kfunc with BTF id " + c.imm() + " is not bound");
                        return;
                    }
                    recordCallDepth();
                    if (kfuncsKeepingRegions.contains(c.imm())) {
                        // A lock taken and freed around every operation of a hot data structure:
                        // the regions resolved before the call stay valid after it.
                        callHostFunctionKeepingRegions(pc, kfuncField(c.imm()));
                    } else {
                        callHostFunction(pc, kfuncField(c.imm()));
                    }
                }
            }
        }

        /** Before every helper call: the frame depth a callback of the helper runs below ({@link JitContext#call}). */
        private void recordCallDepth() {
            code.aload(0).iload(1).putfield(CD_CONTEXT, "callDepth", CD_int);
        }

        /** r0 = the helper or kfunc in static field {@code field}, called with the invocation and r1..r5. */
        private void callHostFunction(int pc, String field) {
            callHostFunctionKeepingRegions(pc, field);
            afterHostCall();
        }

        /** r0 = {@code field.call(invocation, r1..r5)}, the static final {@code field} being of type {@code type}. */
        private void hostCall(String field, ClassDesc type) {
            code.getstatic(programClass, field, type).aload(invSlot);
            for (int r = 1; r <= 5; r++) code.lload(reg(r));
            code.invokeinterface(CD_HELPER, "call", MTD_HELPER).lstore(reg(0));
        }

        /**
         * A map lookup bound to its map, with the key usually on the stack: when r2 lies in the
         * stack's window, r0 = {@code bound.lookupOnStack(invocation, stackBytes, r2)}, which reads
         * the key as array elements; otherwise the bound helper's generic call. Either way the
         * regions stay where they are.
         */
        private void lookupWithStackKey(int pc) {
            guarded(pc, CD_Throwable, () -> {
                Label generic = code.newLabel(), done = code.newLabel();
                code.aload(0).getfield(CD_CONTEXT, "stackBase", CD_long).lload(reg(2)).lxor()
                        .loadConstant(32).lushr().lconst_0().lcmp().ifne(generic);
                code.getstatic(programClass, boundField(pc), CD_STACK_KEY_LOOKUP).aload(invSlot)
                        .aload(0).getfield(CD_CONTEXT, "stackBytes", CD_byte.arrayType()).lload(reg(2))
                        .invokeinterface(CD_STACK_KEY_LOOKUP, "lookupOnStack", MTD_LOOKUP_ON_STACK).lstore(reg(0)).goto_(done);
                code.labelBinding(generic);
                hostCall(boundField(pc), CD_STACK_KEY_LOOKUP);
                code.labelBinding(done);
            });
        }

        /** As {@link #callHostFunction}, for a helper that keeps the invocation's regions where they are. */
        private void callHostFunctionKeepingRegions(int pc, String field) {
            guarded(pc, CD_Throwable, () -> hostCall(field, CD_HELPER));
        }

        /** A helper may move the invocation's regions (bpf_xdp_adjust_*, a remap): look them up again. */
        private void afterHostCall() {
            if (hostAccesses == 0) return;
            forgetHostWindows();
        }

        private int hostSegmentSlot(HostRegion k, boolean write) { return hostCacheBase + HOST_CACHE_ENTRY * (2 * k.ordinal() + (write ? 1 : 0)); }

        private int hostWindowSlot(HostRegion k, boolean write) { return hostSegmentSlot(k, write) + 1; }

        /** The array behind the cached segment, or null (see {@link HostRegion.Backing}). */
        private int hostArraySlot(HostRegion k, boolean write) { return hostSegmentSlot(k, write) + 3; }

        /** No window is -1 (windows are unsigned 32-bit numbers): the next access of each kind looks its region up. */
        private void forgetHostWindows() {
            for (HostRegion k : HostRegion.values()) {
                for (boolean write : new boolean[] {false, true}) code.loadConstant(-1L).lstore(hostWindowSlot(k, write));
            }
        }

        /**
         * After every helper call: if the helper requested a tail call, abandon the program (all
         * its frames) so the driver can enter the target.
         */
        private void tailCallCheck() {
            Label stub = code.newLabel();
            code.aload(invSlot).invokevirtual(CD_INVOCATION, "tailCallPending", MethodTypeDesc.of(CD_boolean)).ifne(stub);
            outOfLine.add(c -> c.labelBinding(stub)
                    .getstatic(CD_TAIL_CALL, "INSTANCE", CD_TAIL_CALL).athrow());
        }

        /** Calls subprogram {@code target} in a fresh frame one level deeper. */
        private void localCall(int pc, int target) {
            code.iload(1).loadConstant(RuntimeLimits.MAX_CALL_FRAMES - 1)
                    .if_icmpge(faultStub(pc, "call depth exceeds " + RuntimeLimits.MAX_CALL_FRAMES));
            code.aload(0).iload(1).iconst_1().iadd();
            for (int r = 1; r <= 5; r++) code.lload(reg(r));
            code.invokestatic(programClass, methodName(target), SUBPROGRAM_TYPE).lstore(reg(0));
        }

        /**
         * {@code callx}: a function pointer (code window | entry slot) calls that subprogram; any
         * other value calls the helper with that number.
         */
        private void callx(int pc, CallX c) {
            int value = reg(c.reg());
            Label helperCall = code.newLabel(), noFunction = code.newLabel(), after = code.newLabel();
            code.lload(value).loadConstant(32).lushr().loadConstant(FunctionPointers.CODE_WINDOW).lcmp().ifne(helperCall);
            List<SwitchCase> cases = new ArrayList<>();
            List<Integer> targets = new ArrayList<>(structure.functionEntries());
            for (int t : targets) cases.add(SwitchCase.of(t, code.newLabel()));
            // Slots of 2^31 and more become negative ints and match no case.
            code.lload(value).l2i().lookupswitch(noFunction, cases);
            for (int i = 0; i < targets.size(); i++) {
                code.labelBinding(cases.get(i).target());
                localCall(pc, targets.get(i));
                code.goto_(after);
            }
            code.labelBinding(noFunction);
            code.lload(value).loadConstant(pc).invokestatic(CD_RUNTIME, "badCallTarget", MTD_BAD_TARGET).athrow();
            code.labelBinding(helperCall);
            recordCallDepth();
            guarded(pc, CD_Throwable, () -> {
                code.getstatic(programClass, HELPER_TABLE_FIELD, CD_HELPER_TABLE).aload(invSlot).lload(value);
                for (int r = 1; r <= 5; r++) code.lload(reg(r));
                code.invokestatic(CD_RUNTIME, "callHelperByNumber", MTD_HELPER_BY_NUMBER).lstore(reg(0));
            });
            afterHostCall();
            tailCallCheck();
            code.labelBinding(after);
        }
    }
}
