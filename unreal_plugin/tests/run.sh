#!/usr/bin/env bash
# Tests the Unreal plugin's engine-free receiver code (MEDTalkLiveLink/.../Private/MEDTalk{Names,
# Json,Packet,Connection,StreamTracker,Receiver}.{h,cpp}) here, without the engine, built with g++:
#   1. vector_tests: every golden packet of tests/protocol_vectors/ (written by the Python encoder,
#      see tests/test_protocol_vectors.py) decoded and compared with expected.txt; StreamTracker,
#      connection strings, and the receive loop on scripted datagrams; built twice, number parsing
#      by std::from_chars and by strtod;
#   2. fuzz_tests: truncations, byte changes, random bytes, hostile JSON, misaligned addresses, and
#      the receive loop on a hostile datagram stream, under AddressSanitizer +
#      UndefinedBehaviorSanitizer with -fno-sanitize-recover;
#   3. two live interop runs of `medtalk stream --file` (2 s of real speech, 120 frames) on
#      loopback, received by `receiver`, which runs the plugin's receive loop (MEDTalkReceiver):
#      over OSC/UDP, and over ZeroMQ with libzmq. Each C++ record is compared byte for byte with
#      the Python side's record of the same stream (record_zmq.py: pyzmq + bridge/protocol.py):
#      frame index, time and the 174 values.
# Needs g++, libzmq3-dev and the project installed (pip install -e .). Prints one summary line.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
src="$root/unreal_plugin/MEDTalkLiveLink/Source/MEDTalkLiveLink/Private"
vectors="$root/tests/protocol_vectors"
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

cxx="${CXX:-g++}"
flags=(-std=c++17 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
       -O1 -g -fno-omit-frame-pointer
       -fsanitize=address,undefined -fsanitize=float-cast-overflow -fno-sanitize-recover=all
       -I"$src")
export ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "== build ($cxx, AddressSanitizer + UBSan)"
# The packet code, twice: JSON numbers by std::from_chars, and by strtod (-DMEDTALK_NO_FROM_CHARS,
# the path of standard libraries without floating-point from_chars, e.g. Apple's libc++). The
# receive loop without ZeroMQ (the plugin's default build) for vector_tests and fuzz_tests, with it
# for receiver.
packet_sources=(MEDTalkNames MEDTalkJson MEDTalkPacket MEDTalkConnection MEDTalkStreamTracker)
objects=()
objects_strtod=()
for name in "${packet_sources[@]}"; do
    "$cxx" "${flags[@]}" -c "$src/$name.cpp" -o "$work/$name.o"
    "$cxx" "${flags[@]}" -DMEDTALK_NO_FROM_CHARS -c "$src/$name.cpp" -o "$work/$name.strtod.o"
    objects+=("$work/$name.o")
    objects_strtod+=("$work/$name.strtod.o")
done
"$cxx" "${flags[@]}" -DWITH_MEDTALK_ZMQ=0 -c "$src/MEDTalkReceiver.cpp" -o "$work/receiver_nozmq.o"
"$cxx" "${flags[@]}" -DWITH_MEDTALK_ZMQ=1 -c "$src/MEDTalkReceiver.cpp" -o "$work/receiver_zmq.o"
"$cxx" "${flags[@]}" "$here/vector_tests.cpp" "${objects[@]}" "$work/receiver_nozmq.o" \
    -o "$work/vector_tests"
"$cxx" "${flags[@]}" -DMEDTALK_NO_FROM_CHARS "$here/vector_tests.cpp" "${objects_strtod[@]}" \
    "$work/receiver_nozmq.o" -o "$work/vector_tests_strtod"
"$cxx" "${flags[@]}" "$here/fuzz_tests.cpp" "${objects[@]}" "$work/receiver_nozmq.o" \
    -o "$work/fuzz_tests"
"$cxx" "${flags[@]}" "$here/receiver.cpp" "${objects[@]}" "$work/receiver_zmq.o" -lzmq \
    -o "$work/receiver"
# Unreal's unity builds paste a module's .cpp files into one: the engine-free ones must compile so.
for name in "${packet_sources[@]}" MEDTalkReceiver; do echo "#include \"$name.cpp\""; done \
    > "$work/unity.cpp"
"$cxx" "${flags[@]}" -DWITH_MEDTALK_ZMQ=1 -c "$work/unity.cpp" -o "$work/unity.o"

passed=0
failed=0
result() {  # NAME STATUS
    if [[ $2 == 0 ]]; then passed=$((passed + 1)); echo "ok: $1"
    else failed=$((failed + 1)); echo "FAILED: $1"; fi
}

echo "== vector tests"
status=0; "$work/vector_tests" "$vectors" || status=$?
result "vector tests" "$status"
status=0; "$work/vector_tests_strtod" "$vectors" || status=$?
result "vector tests (strtod)" "$status"

echo "== fuzz tests"
status=0; "$work/fuzz_tests" "$vectors" 20000 || status=$?
result "fuzz tests" "$status"

wait_for() {  # FILE SECONDS: until FILE exists and is not empty
    local i
    for ((i = 0; i < $2 * 10; i++)); do [[ -s $1 ]] && return 0; sleep 0.1; done
    echo "timed out waiting for $1"
    return 1
}
free_tcp_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
stream() {  # ARGS...: medtalk stream of the clip, emotion happy
    timeout 300 python3 -m medtalk.cli stream --file "$work/clip.wav" --emotion happy \
        --checkpoint "$work/init.safetensors" "$@"
}
compare() {  # NAME CPP_RECORD PY_RECORD
    if [[ -s $2 ]] && cmp -s "$2" "$3"; then
        echo "$1: $(wc -l < "$2") frames identical to the Python side's record"
        return 0
    fi
    echo "$1: the C++ and Python records differ:"
    diff <(cut -c1-120 "$2") <(cut -c1-120 "$3") | head -20 || true
    return 1
}
finish_run() {  # NAME RECEIVER_PID RECORDER_PID STREAM_STATUS CPP_RECORD PY_RECORD LOG...
    local name=$1 rx=$2 rec=$3 stream_status=$4 cpp=$5 py=$6 status=0
    shift 6
    wait "$rx" || status=1
    wait "$rec" || status=1
    [[ $stream_status == 0 ]] || status=1
    cat "$@"
    [[ $status == 0 ]] && { compare "$name" "$cpp" "$py" || status=1; }
    result "$name" "$status"
}

echo "== live interop (medtalk stream --file, 2 s of speech)"
frames="$(python3 "$here/make_fixtures.py" "$work" 2.0)"

# Run 1: OSC over UDP to the C++ receiver; the Python side records the same stream over ZeroMQ.
"$work/receiver" --udp --frames "$frames" --out "$work/udp_cpp.txt" --ready "$work/udp.ready" \
    --timeout 120 > "$work/udp_receiver.log" 2>&1 &
rx=$!; pids+=("$rx")
wait_for "$work/udp.ready" 10
endpoint="tcp://127.0.0.1:$(free_tcp_port)"
python3 "$here/record_zmq.py" "$endpoint" "$frames" "$work/udp_py.txt" "$work/rec1.ready" 120 \
    > "$work/rec1.log" 2>&1 &
rec=$!; pids+=("$rec")
wait_for "$work/rec1.ready" 30
status=0
stream --osc "127.0.0.1:$(cat "$work/udp.ready")" --zmq "$endpoint" > "$work/stream1.log" 2>&1 \
    || { status=$?; cat "$work/stream1.log"; }
finish_run "live OSC/UDP run" "$rx" "$rec" "$status" "$work/udp_cpp.txt" "$work/udp_py.txt" \
    "$work/udp_receiver.log" "$work/rec1.log"

# Run 2: ZeroMQ only, to the C++ receiver (libzmq SUB) and the Python recorder (pyzmq SUB).
endpoint="tcp://127.0.0.1:$(free_tcp_port)"
"$work/receiver" --zmq "$endpoint" --emotion happy --frames "$frames" --out "$work/zmq_cpp.txt" \
    --ready "$work/zmq.ready" --timeout 120 > "$work/zmq_receiver.log" 2>&1 &
rx=$!; pids+=("$rx")
python3 "$here/record_zmq.py" "$endpoint" "$frames" "$work/zmq_py.txt" "$work/rec2.ready" 120 \
    > "$work/rec2.log" 2>&1 &
rec=$!; pids+=("$rec")
wait_for "$work/zmq.ready" 10
wait_for "$work/rec2.ready" 30
status=0
stream --no-osc --zmq "$endpoint" > "$work/stream2.log" 2>&1 || { status=$?; cat "$work/stream2.log"; }
finish_run "live ZeroMQ run" "$rx" "$rec" "$status" "$work/zmq_cpp.txt" "$work/zmq_py.txt" \
    "$work/zmq_receiver.log" "$work/rec2.log"

echo "unreal_plugin: $passed passed, $failed failed"
[[ $failed == 0 ]]
