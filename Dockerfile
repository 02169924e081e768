# ringkv: one image for both roles (controller and worker).
#
#   docker build -t ringkv:0.1.0 .
#   docker run --rm -p 8000:8000 ringkv:0.1.0 controller       # the argument picks the role ...
#   docker run --rm -e ROLE=worker ringkv:0.1.0                 # ... or ROLE does (default: worker)
#   docker run --rm ringkv:0.1.0 bench --help                   # the load generator in the jar
#
# The base images are build arguments, so that a machine without a registry can build on local
# images, e.g. (legacy builder; no BuildKit feature is used):
#   DOCKER_BUILDKIT=0 docker build --build-arg BUILD_IMAGE=local/jdk17-maven:bookworm \
#     --build-arg RUNTIME_IMAGE=local/jre17:bookworm -t ringkv:0.1.0 .
# The build image needs a JDK 17 and Maven 3.8+; the runtime image a Java 17 runtime and bash.
ARG BUILD_IMAGE=maven:3.9-eclipse-temurin-17
ARG RUNTIME_IMAGE=eclipse-temurin:17-jre

# ---- build ----------------------------------------------------------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /build
# Dependencies first: this layer is rebuilt only when pom.xml changes, not on every code change.
COPY pom.xml ./
RUN mvn -B -q dependency:go-offline
COPY application.conf ./
COPY src/main ./src/main
# The image needs the jar only; the tests run in CI (mvn -B verify), not in the image build.
RUN mvn -B -q package -Dmaven.test.skip=true && test -s target/ringkv.jar

# ---- runtime --------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
# A fixed numeric uid/gid, so that Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN set -e; \
    getent group 10001 >/dev/null || groupadd --system --gid 10001 ringkv; \
    getent passwd 10001 >/dev/null || useradd --system --uid 10001 --gid 10001 \
        --home-dir /app --no-create-home --shell /usr/sbin/nologin ringkv; \
    mkdir -p /app /data; \
    chown 10001:10001 /data; \
    printf '%s\n' \
      '#!/bin/bash' \
      '# ringkv-health [PATH]: exit 0 when GET PATH (default /health/live) answers 200 on $PORT' \
      '# (unset: 8001, then 8000). Plain bash (/dev/tcp), so the runtime image needs no curl.' \
      'path=${1:-/health/live}' \
      'for port in ${PORT:-8001 8000}; do' \
      '  if (exec 3<>"/dev/tcp/127.0.0.1/$port" \' \
      '      && printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$path" >&3 \' \
      '      && IFS= read -r -t 3 status <&3 && [[ $status == "HTTP/1."?" 200 "* ]]) 2>/dev/null; then' \
      '    exit 0' \
      '  fi' \
      'done' \
      'exit 1' \
      > /usr/local/bin/ringkv-health; \
    chmod 755 /usr/local/bin/ringkv-health
WORKDIR /app
COPY --from=build /build/target/ringkv.jar /app/ringkv.jar
USER 10001:10001

# The heap follows the container's memory limit, and starts at half of it: in a container under
# 1792 MiB the JVM would otherwise pick the Serial collector with a 12 MiB starting heap, and spend
# its time in back-to-back collections (measured: 10x fewer requests per second in the pods). G1
# is chosen explicitly for the same reason. An OutOfMemoryError ends the process (and the
# orchestrator restarts it) instead of leaving a half-working node. The heap takes 60% of the limit:
# the rest holds the storage engine's off-heap memory (STORAGE_MEMORY, 64 MiB by default) and the
# JVM's own (threads, metaspace, direct buffers).
# A worker keeps its data in /data/<node id> (mount a volume there: docker-compose.yml, k8s/).
ENV ROLE=worker \
    DATA_DIR=/data \
    JAVA_OPTS="-XX:+UseG1GC -XX:InitialRAMPercentage=50 -XX:MaxRAMPercentage=60 -XX:+ExitOnOutOfMemoryError"
# 8000: controller, 8001: worker (PORT overrides either); 7001: the worker's node-to-node link
# when PEER_PORT=7001, as in the manifests and docker-compose.yml (by default it takes any free port)
EXPOSE 8000 8001 7001
HEALTHCHECK --interval=10s --timeout=5s --start-period=40s --retries=3 \
    CMD ["ringkv-health", "/health/live"]
# java replaces the shell (PID 1), so SIGTERM reaches the JVM and a worker leaves gracefully.
# The container's arguments are the jar's: a role (controller|worker|local|bench ...); none = $ROLE.
ENTRYPOINT ["/bin/sh", "-c", "exec java $JAVA_OPTS -jar /app/ringkv.jar \"$@\"", "ringkv"]
