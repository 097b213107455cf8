package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;

/** rb_tree.bpf.o's four programs, loaded once in a runtime of one engine. */
final class RbTreeOps implements AutoCloseable {
    final KFlexRuntime runtime;
    final Extension ext;
    final LoadedProgram insert, delete, validate;
    /** Not final: a cancelled lookup is unloaded (KFlex's policy) and loaded again by {@link #reloadLookup}. */
    LoadedProgram lookup;

    RbTreeOps(String engine) throws Exception {
        runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(5)).build();
        try {
            ext = runtime.open(TestObjects.object("rb_tree.bpf.o"));
            insert = ext.load("rb_insert");
            lookup = ext.load("rb_lookup");
            delete = ext.load("rb_delete");
            validate = ext.load("rb_validate");
        } catch (Exception | Error e) {
            runtime.close();
            throw e;
        }
    }

    /** retval and the 8 bytes at ctx offset 8 (the value) after a run with ctx {key, value}. */
    record Result(long retval, long value) {}

    static byte[] args(long key, long value) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(key).putLong(value).array();
    }

    private static Result run(LoadedProgram p, long key, long value) {
        TestRunResult r = p.testRun(TestRun.once().withContext(args(key, value)));
        assertThat(r.outcome()).as("%s(%d)", p.name(), key).isInstanceOf(io.kflex.engine.Outcome.Returned.class);
        return new Result((int) r.retval(), ByteBuffer.wrap(r.ctxOut()).order(ByteOrder.LITTLE_ENDIAN).getLong(8));
    }

    Result insert(long key, long value) { return run(insert, key, value); }

    Result lookup(long key) { return run(lookup, key, 0); }

    Result delete(long key) { return run(delete, key, 0); }

    /** rb_validate's answer: the error code (0 = valid) and, when valid, count, black height and depth. */
    record Validation(int code, long count, long blackHeight, long depth) {}

    Validation validate() {
        TestRunResult r = validate.testRun(TestRun.once().withContext(new byte[24]));
        assertThat(r.outcome()).as("rb_validate").isInstanceOf(io.kflex.engine.Outcome.Returned.class);
        ByteBuffer out = ByteBuffer.wrap(r.ctxOut()).order(ByteOrder.LITTLE_ENDIAN);
        return new Validation((int) r.retval(), out.getLong(0), out.getLong(8), out.getLong(16));
    }

    RbTreeHeap heap() { return RbTreeHeap.of(ext); }

    void reloadLookup() throws Exception { lookup = ext.load("rb_lookup"); }

    @Override
    public void close() {
        ext.close();
        runtime.close();
    }
}
