package io.kflex.memcached;

/**
 * A cache in front of the store that the server keeps current: it may fill an entry after it
 * read an item for a GET, and it must drop the key's entry after every write of it. The
 * protocol calls {@link #ticket} before it reads the store and {@link #filled} after, so an
 * implementation can refuse a fill that an invalidation overtook.
 */
interface LookasideCache {
    /** A token for a fill of {@code key}, taken before the store is read. */
    long ticket(byte[] key);

    /** {@code item} was read from the store for {@code key} after {@code ticket} was taken. */
    void filled(byte[] key, long ticket, HeapStore.Item item);

    /** {@code key} may have changed in the store (called after the write, before the reply is sent). */
    void written(byte[] key);

    /** Every item may have gone (flush_all). */
    void flushed();

    /** No cache: the plain server and the KFlex offload, which reads the store itself. */
    LookasideCache NONE = new LookasideCache() {
        @Override
        public long ticket(byte[] key) { return 0; }

        @Override
        public void filled(byte[] key, long ticket, HeapStore.Item item) { }

        @Override
        public void written(byte[] key) { }

        @Override
        public void flushed() { }
    };
}
