package io.kflex.isa.asm;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits one source line into tokens. Both dialects share it: words ({@code mov32}, {@code %r1},
 * {@code w0}, labels), unsigned numbers (the sign is a token of its own) and operators, where the
 * signed operators of LLVM's syntax ({@code s<=}, {@code s>>=}, ...) are single tokens.
 */
final class Lexer {
    enum Kind { WORD, NUMBER, OP }

    record Token(Kind kind, String text) {
        boolean is(String s) { return text.equals(s); }

        @Override
        public String toString() { return text; }
    }

    // Longest first, so that maximal munch is a first-match scan.
    private static final String[] OPERATORS = {
        "s>>=", "<<=", ">>=", "s/=", "s%=", "s<=", "s>=",
        "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "==", "!=", "<=", ">=", "s<", "s>",
        "<", ">", "=", "&", "+", "-", "*", "(", ")", "[", "]", ",", ":",
    };

    private Lexer() {}

    static List<Token> tokenize(String text, int line) throws AssemblyException {
        List<Token> tokens = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
                continue;
            }
            String op = operatorAt(text, i);
            if (op != null) {
                tokens.add(new Token(Kind.OP, op));
                i += op.length();
            } else if (isWordStart(c)) {
                int start = i++;
                while (i < text.length() && isWordPart(text.charAt(i))) i++;
                tokens.add(new Token(Kind.WORD, text.substring(start, i)));
            } else if (c >= '0' && c <= '9') {
                int start = i++;
                while (i < text.length() && isAsciiAlphanumeric(text.charAt(i))) i++;
                tokens.add(new Token(Kind.NUMBER, text.substring(start, i)));
            } else {
                throw new AssemblyException(line, "unexpected character '" + c + "'");
            }
        }
        return tokens;
    }

    private static String operatorAt(String text, int i) {
        // "s<" is only an operator where a word cannot start: "sub" or "s1:" are words.
        boolean signedOperatorPossible = text.charAt(i) == 's' && (i == 0 || !isWordPart(text.charAt(i - 1)));
        for (String op : OPERATORS) {
            if (op.charAt(0) == 's' && !signedOperatorPossible) continue;
            if (text.startsWith(op, i)) return op;
        }
        return null;
    }

    private static boolean isAsciiAlphanumeric(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isWordStart(char c) {
        return Character.isLetter(c) || c == '_' || c == '.' || c == '%' || c == '$';
    }

    private static boolean isWordPart(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '.' || c == '$';
    }
}
