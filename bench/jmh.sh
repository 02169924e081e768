#!/usr/bin/env bash
# bench/jmh.sh [JMH options]: the microbenchmarks of the hot pure code (src/test/java/io/ringkv/jmh):
# ring lookup, key hash, version compare/parse/format, JSON codec of client bodies and replica
# batches, the store's apply. Compiles the tests (Maven), then runs JMH on the test classpath.
# Example: bench/jmh.sh -f 1 -wi 2 -i 3 'ring|version'       (about 5 minutes with the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-target}
mvn -B -q -Dringkv.build.dir="$BUILD" test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$BUILD/test-classpath.txt" >/dev/null
exec java -cp "$BUILD/test-classes:$BUILD/classes:$(cat "$BUILD/test-classpath.txt")" org.openjdk.jmh.Main "$@"
