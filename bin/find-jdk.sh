# Sourced by ./kflex and ./test: exports JAVA_HOME pointing at a JDK >= 25.
# Order: $JAVA_HOME, then /usr/lib/jvm/*, then the java on PATH.

kflex_java_major() {
    # Prints the feature version of the java binary $1 (e.g. 25), or nothing.
    "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

kflex_find_jdk() {
    local candidate major
    for candidate in ${JAVA_HOME:+"$JAVA_HOME"} /usr/lib/jvm/*; do
        if [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ]; then
            major=$(kflex_java_major "$candidate/bin/java")
            if [ -n "$major" ] && [ "$major" -ge 25 ]; then
                echo "$candidate"
                return 0
            fi
        fi
    done
    if command -v javac >/dev/null 2>&1; then
        candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
        major=$(kflex_java_major "$candidate/bin/java")
        if [ -n "$major" ] && [ "$major" -ge 25 ]; then
            echo "$candidate"
            return 0
        fi
    fi
    return 1
}

if ! KFLEX_JDK=$(kflex_find_jdk); then
    echo "kflex: no JDK 25 or newer found (looked at \$JAVA_HOME, /usr/lib/jvm/*, and PATH)." >&2
    echo "kflex: install one, e.g. 'apt-get install temurin-25-jdk' (Adoptium repository) or set JAVA_HOME." >&2
    exit 2
fi
export JAVA_HOME="$KFLEX_JDK"
