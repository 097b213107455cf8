package io.kflex.verifier;

/**
 * A loop back-edge {@code from -> to}. {@code terminating} when the verifier proved that runs
 * around it stay short without a check of their own ({@code reason} says how): a {@code may_goto}
 * on every path around the loop (itself a check), or an induction variable — a counter or a
 * numeric iterator — bounding the loop to at most {@link Verifier#MAX_UNPOLLED_ITERATIONS}
 * iterations per entry, together with the counted loops around it and those it calls. Otherwise
 * the back-edge is a cancellation point and {@code reason} says why: no proof, or a proof that the
 * loop ends but only after too many iterations.
 */
public record BackEdgeFact(int from, int to, boolean terminating, String reason) {}
