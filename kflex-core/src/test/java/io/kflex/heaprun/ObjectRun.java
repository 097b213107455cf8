package io.kflex.heaprun;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.engine.SharedRegions;
import io.kflex.helpers.HelperTable;
import io.kflex.helpers.Kfuncs;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.ObjectMap;
import io.kflex.loader.Program;
import io.kflex.maps.MapSpec;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Runs programs of a committed object on an engine with a {@link TestHeap}: global-data maps are
 * shared regions holding their initial data, the arena map is the heap, every program is verified
 * and loaded with its facts. Programs of one runner share maps and heap, as in one process.
 */
public final class ObjectRun {
    private final ExtensionObject object;
    private final Engine engine;
    private final TestHeap heap;
    private final SharedRegions shared = new SharedRegions();
    private final Map<Integer, Long> mapValues = new HashMap<>();
    private final HelperTable helpers;

    public ObjectRun(String objectFile, Engine engine, boolean checked) throws Exception {
        this.object = ExtensionObject.open(objects().resolve(objectFile), Kfuncs.resolver());
        this.engine = engine;
        long heapSize = object.heap().map(h -> h.size()).orElse(1L << 16);
        this.heap = new TestHeap(heapSize, checked);
        for (int i = 0; i < object.maps().size(); i++) {
            ObjectMap m = object.maps().get(i);
            if (m.spec().type() == MapSpec.ARRAY && m.spec().maxEntries() == 1) {
                MemorySegment value = Arena.ofAuto().allocate(Math.max(8, m.spec().valueSize()), 8);
                if (m.initialData() != null) value.copyFrom(MemorySegment.ofArray(m.initialData()));
                mapValues.put(i, shared.map(new Region(Region.Kind.MAP_VALUE, value, !m.spec().readOnlyForProgram(), m.name())));
            }
        }
        this.helpers = heap.kfuncs(HelperTable.builder()).build();
    }

    public static Path objects() {
        String dir = System.getProperty("kflex.repo.dir");
        Path root = dir != null && !dir.isBlank() ? Path.of(dir) : Path.of("..").toAbsolutePath().normalize();
        return root.resolve("extensions/objects");
    }

    public TestHeap heap() { return heap; }

    public VerifiedProgram verify(String program) throws Exception {
        Program p = object.program(program);
        return Verifier.verify(p.code(), p.type(), object.mapSpecs(), VerifierOptions.defaults());
    }

    public Executable load(String program) throws Exception {
        Program p = object.program(program);
        VerifiedProgram facts = verify(program);
        Bindings.PseudoResolver pseudo = insn -> switch (insn.pseudo()) {
            case LoadImm64.MAP_IDX -> OptionalLong.of(0xffff_fff0_0000_0000L | insn.imm()); // a handle only the kfuncs see
            case LoadImm64.MAP_IDX_VALUE -> {
                Long base = mapValues.get(insn.imm());
                if (base == null) throw new EngineException("no value region for map " + insn.imm());
                yield OptionalLong.of(base + insn.nextImm());
            }
            default -> OptionalLong.empty();
        };
        return engine.load(p.code(), Bindings.of(helpers).withPseudo(pseudo).withVerified(facts).withHeap(heap));
    }

    /** Runs {@code program} with a context buffer holding {@code ctx}, which it may update in place. */
    public Outcome run(String program, MemorySegment ctx) throws Exception {
        return load(program).run(invocation(ctx));
    }

    /** An invocation over this runner's shared regions whose r1 points at {@code ctx}. */
    public Invocation invocation(MemorySegment ctx) {
        AddressSpace memory = new AddressSpace(shared);
        long base = memory.map(new Region(Region.Kind.CONTEXT, ctx, true, "ctx"));
        return new Invocation(memory, base);
    }

    public SharedRegions shared() { return shared; }
}
