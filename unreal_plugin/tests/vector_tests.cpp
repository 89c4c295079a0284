// Decodes every golden packet of tests/protocol_vectors/ with MEDTalkPacket and checks the result
// against expected.txt (written by tests/test_protocol_vectors.py from bridge/protocol.py); then
// checks the receiver bookkeeping (StreamTracker), the connection-string parser, and the receive
// loop (Receiver) on scripted datagrams.
//
// usage: vector_tests VECTORS_DIR

#include "MEDTalkConnection.h"
#include "MEDTalkStreamTracker.h"
#include "scripted_receiver.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>

using namespace medtalk_test;

namespace
{
void CheckFrameFields(Checker& c, const Vector& v, const medtalk::Frame& f)
{
    c.Equal(f.subject, v.Field("subject"), v.name + " subject");
    c.Equal(std::to_string(f.index), v.Field("index"), v.name + " index");
    c.Equal(HexF64(f.time), v.Field("time"), v.name + " time");
    c.Equal(HexValues(f.values), v.Field("values"), v.name + " values");
    if (v.kind == "zmq_frame")
    {
        c.Equal(HexF64(f.t0), v.Field("t0"), v.name + " t0");
        c.Equal(f.emotion, v.Field("emotion"), v.name + " emotion");
        c.Equal(HexF32(f.intensity), v.Field("intensity"), v.name + " intensity");
    }
}

void CheckNames(Checker& c, const Vector& v, const medtalk::Names& n)
{
    std::vector<std::string> expected;
    for (const auto& kv : v.fields)
    {
        if (kv.first == "name")
        {
            expected.push_back(kv.second);
        }
    }
    c.Equal(n.names.size(), expected.size(), v.name + " name count");
    for (std::size_t i = 0; i < expected.size() && i < n.names.size(); ++i)
    {
        c.Equal(n.names[i], expected[i], v.name + " name " + std::to_string(i));
    }
    c.Equal(n.subject, v.Field("subject"), v.name + " subject");
}

// The decoder's verdict and fields, for the packet as stored and for copies at 1-3 bytes past an
// aligned address (the end of each copy is the end of its allocation, so ASan still sees
// overreads, and UBSan sees misaligned loads).
void CheckVector(Checker& c, const Vector& v)
{
    OwnedParts owned(v.parts);
    medtalk::Frame frame;
    medtalk::Names names;
    const medtalk::Status status = Decode(v.kind, owned.parts, frame, names);
    if (!c.Equal(medtalk::StatusName(status), v.status, v.name + " status"))
    {
        return;
    }
    if (status == medtalk::Status::Ok)
    {
        if (v.kind == "osc_frame" || v.kind == "zmq_frame")
        {
            CheckFrameFields(c, v, frame);
        }
        else
        {
            CheckNames(c, v, names);
        }
    }
    if (v.kind.rfind("osc_", 0) == 0 && status == medtalk::Status::Ok)
    {
        const medtalk::OscKind kind = medtalk::ClassifyOsc(owned.parts[0].data, owned.parts[0].size);
        c.Check(kind == (v.kind == "osc_frame" ? medtalk::OscKind::Frame : medtalk::OscKind::Names),
                v.name + " classified by its address");
    }
    for (std::size_t shift = 1; shift < 4; ++shift)
    {
        std::vector<Bytes> storage;
        std::vector<medtalk::Part> parts;
        for (const Bytes& part : v.parts)
        {
            storage.emplace_back(part.size() + shift);
            std::copy(part.begin(), part.end(), storage.back().begin() + static_cast<long>(shift));
        }
        for (const Bytes& b : storage)
        {
            parts.push_back(medtalk::Part{b.data() + shift, b.size() - shift});
        }
        medtalk::Frame shifted_frame;
        medtalk::Names shifted_names;
        const medtalk::Status shifted = Decode(v.kind, parts, shifted_frame, shifted_names);
        c.Check(shifted == status && shifted_frame.index == frame.index
                    && HexValues(shifted_frame.values) == HexValues(frame.values)
                    && shifted_names.names == names.names,
                v.name + " decodes the same at an address misaligned by " + std::to_string(shift));
    }
}

void CheckBuiltInNames(Checker& c, const std::vector<Vector>& vectors)
{
    for (const Vector& v : vectors)
    {
        if (v.name != "osc_names_MEDTalk" && v.name != "zmq_names")
        {
            continue;
        }
        std::vector<std::string> rig;
        for (const auto& kv : v.fields)
        {
            if (kv.first == "name")
            {
                rig.push_back(kv.second);
            }
        }
        const std::vector<std::string> built_in(medtalk::kControlNames,
                                                medtalk::kControlNames + medtalk::kNumControls);
        c.Check(rig == built_in, "kControlNames equals the rig's names in " + v.name);
    }
}

void CheckTracker(Checker& c)
{
    medtalk::StreamTracker t(0.5);
    c.Check(t.PropertyNames().size() == 174 && t.PropertyNames()[4] == "CTRL_C_jaw-translateY",
            "tracker starts with the built-in names");
    c.Check(t.TakeStaticDataDue(), "static data due before the first frame");
    c.Check(!t.TakeStaticDataDue(), "static data due only once");
    c.Check(!t.UpdateNames(t.PropertyNames()), "same names: no new static data");
    c.Check(!t.TakeStaticDataDue(), "still not due after the same names");
    std::vector<std::string> renamed = t.PropertyNames();
    renamed[0] = "CTRL_C_eye-translateX_v2";
    c.Check(t.UpdateNames(renamed) && t.TakeStaticDataDue(), "changed names: static data due");
    c.Check(t.PropertyNames()[0] == "CTRL_C_eye-translateX_v2", "tracker adopts the new names");

    double now = 100.0;
    c.Check(!t.IsStale(now), "no frames yet: not stale");
    medtalk::StreamTracker::Verdict v = t.OnFrame(0, now);
    c.Check(v.accept && v.restarted && v.lost == 0, "first frame starts a stream");
    for (int i = 1; i < 10; ++i)
    {
        now += 1.0 / 60;
        v = t.OnFrame(i, now);
        c.Check(v.accept && !v.restarted && v.lost == 0, "frame " + std::to_string(i) + " in order");
    }
    now += 3.0 / 60;
    v = t.OnFrame(12, now);
    c.Check(v.accept && v.lost == 2, "a gap of two frames is counted as lost");
    v = t.OnFrame(12, now);
    c.Check(!v.accept, "a duplicate is dropped");
    v = t.OnFrame(11, now + 0.001);
    c.Check(!v.accept, "a late datagram is dropped");
    c.Check(!t.IsStale(now + 0.4), "0.4 s of silence is not stale (0.5 s)");
    c.Check(t.IsStale(now + 0.6), "0.6 s of silence is stale (0.5 s)");
    v = t.OnFrame(0, now + 3.0);
    c.Check(v.accept && v.restarted && !t.IsStale(now + 3.0), "bridge restart after silence");
    now += 3.0;
    v = t.OnFrame(1, now + 1.0 / 60);
    c.Check(v.accept && !v.restarted && v.lost == 0, "the new stream goes on");
    now += 1.0 / 60;
    v = t.OnFrame(500, now + 0.3);
    c.Check(v.accept && v.restarted, "a frame after 0.25 s of silence starts a new stream");
    now += 0.3;
    v = t.OnFrame(3, now + 1.0 / 60);
    c.Check(v.accept && v.restarted, "an index jump back of more than 30 starts a new stream");
    c.Equal(t.frames_accepted, 15u, "frames accepted");
    c.Equal(t.frames_lost, 2u, "frames lost");
    c.Equal(t.frames_dropped, 2u, "frames dropped");
    c.Equal(t.restarts, 3u, "restarts");
}

const Bytes& VectorBytes(const std::vector<Vector>& vectors, const std::string& name)
{
    for (const Vector& v : vectors)
    {
        if (v.name == name && v.parts.size() == 1)
        {
            return v.parts[0];
        }
    }
    std::fprintf(stderr, "no single-part vector %s\n", name.c_str());
    std::exit(2);
}

// The receive loop on scripted datagrams and a scripted clock: transport retry, subject filter,
// names before the first frame, rejects logged once, duplicates, changed names, silence.
void CheckReceiver(Checker& c, const std::vector<Vector>& vectors)
{
    using medtalk::ReceiverEvent;
    ScriptedUdp script;
    double clock = 1000.0;
    int opens = 0;
    Heard heard;
    medtalk::ReceiverConfig config;  // OSC, subject MEDTalk
    medtalk::Receiver receiver(
        config, heard,
        [&](const medtalk::ReceiverConfig& cfg,
            std::string& error) -> std::unique_ptr<medtalk::UdpSocket> {
            if (opens++ == 0)
            {
                error = "cannot bind " + medtalk::ReceiverAddress(cfg) + " (in use?)";
                return nullptr;
            }
            return std::make_unique<ScriptedUdpSocket>(script);
        },
        [&clock] { return clock; });

    receiver.Poll();
    c.Check(!receiver.IsOpen() && heard.Count(ReceiverEvent::TransportError) == 1
                && receiver.StatusText()
                       == "Error: cannot bind udp://127.0.0.1:9100 (in use?); retrying",
            "receiver: a transport error is reported and shown");
    receiver.Poll();
    c.Check(opens == 1, "receiver: no retry before kReopenSeconds");
    clock += medtalk::kReopenSeconds;
    receiver.Poll();
    c.Check(opens == 2 && receiver.IsOpen() && receiver.TransportError().empty()
                && heard.Count(ReceiverEvent::Listening) == 1
                && heard.texts.back() == "Listening on udp://127.0.0.1:9100 for subject MEDTalk",
            "receiver: retried after kReopenSeconds, listening");
    c.Equal(receiver.StatusText(), "Waiting for the bridge", "receiver: status before frames");

    const Bytes& frame = VectorBytes(vectors, "osc_frame_example");  // frame 1 of MEDTalk
    const Bytes& names = VectorBytes(vectors, "osc_names_MEDTalk");
    Bytes state(frame.begin(), frame.begin() + 16);
    std::memcpy(state.data(), "/medtalk/state\0", 16);
    script.datagrams = {VectorBytes(vectors, "osc_frame_subject_1"),
                        VectorBytes(vectors, "osc_names_custom"),
                        VectorBytes(vectors, "bad_osc_frame_nan_value"),
                        VectorBytes(vectors, "bad_osc_frame_nan_value"),
                        state};
    script.oversized = 1;
    receiver.Poll();
    const medtalk::ReceiverStats& stats = receiver.Stats();
    c.Check(heard.frames.empty() && heard.names.empty() && stats.other_subject_frames == 1
                && stats.other_subject == "M" && stats.other_subject_names == 1
                && stats.ignored == 1 && stats.names_messages == 0,
            "receiver: other subjects and addresses are counted, not handed over");
    c.Check(stats.rejected == 3
                && stats.rejected_by_status[static_cast<int>(medtalk::Status::NonFiniteValue)] == 2
                && stats.rejected_by_status[static_cast<int>(medtalk::Status::Oversized)] == 1
                && heard.Count(ReceiverEvent::Rejected) == 2,
            "receiver: rejects counted, each reason reported once");
    c.Equal(receiver.StatusText(), "Waiting: frames are for subject 'M'",
            "receiver: status with frames of another subject");

    script.datagrams = {frame, frame, names};
    clock += 0.01;
    receiver.Poll();
    const std::vector<std::string> built_in(medtalk::kControlNames,
                                            medtalk::kControlNames + medtalk::kNumControls);
    c.Check(heard.names.size() == 1 && heard.names[0] == built_in && heard.frames.size() == 1
                && heard.frames[0] == 1 && heard.arrivals[0] == clock,
            "receiver: the built-in names before the first frame, the duplicate dropped, the "
            "same names not published again");
    c.Check(stats.names_messages == 1 && receiver.Tracker().frames_dropped == 1
                && heard.Count(ReceiverEvent::StreamStarted) == 1
                && heard.Count(ReceiverEvent::NamesChanged) == 0,
            "receiver: stream start reported, names message counted");
    c.Equal(receiver.StatusText(), "Receiving (1 frames, 0 lost, 3 rejected)",
            "receiver: status while receiving");

    Bytes renamed = names;
    const std::string first = "CTRL_C_eye-translateX";
    const auto at = std::search(renamed.begin(), renamed.end(), first.begin(), first.end());
    c.Check(at != renamed.end(), "receiver: the names vector holds " + first);
    if (at != renamed.end())
    {
        *(at + static_cast<long>(first.size()) - 1) = 'Z';
    }
    script.datagrams = {renamed};
    clock += 0.01;
    receiver.Poll();
    c.Check(heard.names.size() == 2 && heard.names[1][0] == "CTRL_C_eye-translateZ"
                && heard.names[1][1] == built_in[1] && heard.Count(ReceiverEvent::NamesChanged) == 1,
            "receiver: changed names are published again");

    clock += 1.0;
    receiver.Poll();
    c.Check(heard.Count(ReceiverEvent::Stale) == 1
                && heard.texts.back() == "Subject MEDTalk: no frame for 1.0 s (stale)"
                && receiver.StatusText() == "Stale: no frame for 1 s",
            "receiver: silence reported once as stale");
    receiver.Poll();
    c.Check(heard.Count(ReceiverEvent::Stale) == 1, "receiver: stale reported once per silence");

    // run.sh links vector_tests with the receive loop built without ZeroMQ, the plugin's default
    // (the live ZeroMQ run tests it with ZeroMQ).
    Heard zmq_heard;
    medtalk::ReceiverConfig zmq_config;
    zmq_config.transport = medtalk::ReceiverConfig::Transport::Zmq;
    medtalk::Receiver zmq_receiver(zmq_config, zmq_heard, medtalk::UdpOpener());
    zmq_receiver.Poll();
    c.Check(!zmq_receiver.IsOpen() && zmq_heard.Count(ReceiverEvent::TransportError) == 1
                && zmq_receiver.TransportError()
                       == "this build has no ZeroMQ (see MEDTalkLiveLink.Build.cs)",
            "receiver: a build without ZeroMQ says so");
}

void CheckConnectionStrings(Checker& c)
{
    medtalk::ReceiverConfig config;
    std::string error;
    c.Check(medtalk::ParseConnectionString("", config, error)
                && medtalk::ToConnectionString(config)
                       == "transport=osc;bind=127.0.0.1;port=9100;subject=MEDTalk",
            "empty connection string gives the defaults");
    c.Check(medtalk::ParseConnectionString(" port = 9200 ; subject=Face 01;bind=0.0.0.0", config,
                                           error)
                && config.port == 9200 && config.subject == "Face 01" && config.bind == "0.0.0.0",
            "connection string keys in any order, spaces trimmed");
    medtalk::ReceiverConfig again;
    c.Check(medtalk::ParseConnectionString(medtalk::ToConnectionString(config), again, error)
                && medtalk::ToConnectionString(again) == medtalk::ToConnectionString(config),
            "connection string round trip");
    c.Check(medtalk::ParseConnectionString("transport=zmq;endpoint=tcp://127.0.0.1:5570", config,
                                           error)
                && config.transport == medtalk::ReceiverConfig::Transport::Zmq,
            "zmq connection string");
    const char* bad[] = {"port=0", "port=65536", "port=9x", "port=", "bind=localhost",
                         "bind=1.2.3", "bind=1.2.3.256", "subject=", "transport=udp",
                         "endpoint=udp://x", "colour=red", "port"};
    for (const char* text : bad)
    {
        medtalk::ReceiverConfig untouched;
        untouched.port = 1234;
        error.clear();
        c.Check(!medtalk::ParseConnectionString(text, untouched, error) && !error.empty()
                    && untouched.port == 1234,
                std::string("connection string '") + text + "' is refused with a reason");
    }
    c.Check(!medtalk::ParseConnectionString("subject=" + std::string(64, 'x'), config, error),
            "a 64-character subject is refused");
}
}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2)
    {
        std::fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
        return 2;
    }
    Checker c;
    const std::vector<Vector> vectors = LoadVectors(argv[1]);
    int good = 0;
    for (const Vector& v : vectors)
    {
        CheckVector(c, v);
        good += v.status == "Ok";
    }
    c.Check(vectors.size() >= 40 && good >= 10, "expected.txt lists the vectors");
    CheckBuiltInNames(c, vectors);
    CheckTracker(c);
    CheckConnectionStrings(c);
    CheckReceiver(c, vectors);
    std::printf("%zu vectors (%d valid, %zu faulty)\n", vectors.size(), good,
                vectors.size() - static_cast<std::size_t>(good));
    return c.Finish("vector_tests");
}
