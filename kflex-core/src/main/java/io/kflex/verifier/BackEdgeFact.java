package io.kflex.verifier;

/**
 * A loop back-edge {@code from -> to}. {@code terminating} when the verifier proved the loop ends
 * ({@code reason} says how: a counted induction variable, a {@code may_goto}); otherwise the
 * back-edge is a cancellation point and {@code reason} says why no proof was found.
 */
public record BackEdgeFact(int from, int to, boolean terminating, String reason) {}
