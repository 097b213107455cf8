package io.kflex.maps;

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
import io.kflex.helpers.MapHelpers;
import io.kflex.helpers.StandardHelpers;
import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ObjectMap;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/** A runtime in miniature for map tests: shared regions, a map table, the map and standard helpers. */
final class MapHarness {
    final SharedRegions regions = new SharedRegions();
    final MapTable table;
    final HelperTable helpers;

    MapHarness() { this(2); }

    MapHarness(int cpus) {
        table = new MapTable(regions, cpus);
        helpers = MapHelpers.register(StandardHelpers.register(HelperTable.builder()), table).build();
    }

    /** Creates maps as an object declaring {@code specs} would, in index order. */
    MapSet maps(MapSpec... specs) throws MapException {
        List<ObjectMap> maps = new ArrayList<>();
        for (MapSpec s : specs) maps.add(new ObjectMap(s, ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>()));
        return MapSet.create(table, maps);
    }

    Executable load(Engine engine, Code code, MapSet maps) {
        try {
            return engine.load(code, new Bindings(helpers, maps));
        } catch (EngineException e) {
            throw new AssertionError(engine.name() + " refused the program: " + e.getMessage(), e);
        }
    }

    Executable load(Engine engine, String assembly, MapSet maps) {
        try {
            return load(engine, Assembler.assemble(assembly), maps);
        } catch (io.kflex.isa.asm.AssemblyException e) {
            throw new AssertionError(e);
        }
    }

    /** Runs inside an epoch, as the runtime does, with r1..r5 = {@code args}. */
    Outcome run(Executable program, long... args) {
        return runOnCpu(program, 0, args);
    }

    Outcome runOnCpu(Executable program, int cpu, long... args) {
        try (var epoch = table.epochs().enter()) {
            return program.run(new Invocation(new AddressSpace(regions), args).withCpu(cpu));
        }
    }

    /** Runs with r1 = a writable context holding {@code ctx} (copied back into it afterwards). */
    Outcome runWithContext(Executable program, byte[] ctx) {
        try (var epoch = table.epochs().enter()) {
            AddressSpace memory = new AddressSpace(regions);
            MemorySegment segment = MemorySegment.ofArray(new long[(ctx.length + 7) / 8]).asSlice(0, ctx.length);
            segment.copyFrom(MemorySegment.ofArray(ctx));
            long address = memory.map(new Region(Region.Kind.CONTEXT, segment, true, "ctx"));
            Outcome outcome = program.run(new Invocation(memory, address));
            MemorySegment.ofArray(ctx).copyFrom(segment);
            return outcome;
        }
    }

    static long r0(Outcome outcome) {
        if (!(outcome instanceof Outcome.Returned r)) throw new AssertionError("expected a return, got " + outcome);
        return r.r0();
    }

    static byte[] u32(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    static byte[] u64(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (v >>> (8 * i));
        return b;
    }

    static long u64(byte[] b) {
        long v = 0;
        for (int i = Math.min(8, b.length) - 1; i >= 0; i--) v = v << 8 | (b[i] & 0xff);
        return v;
    }
}
