// Decodes every golden packet of tests/protocol_vectors/ with MEDTalkPacket and checks the result
// against expected.txt (written by tests/test_protocol_vectors.py from bridge/protocol.py); then
// checks the receiver bookkeeping (StreamTracker) and the connection-string parser.
//
// usage: vector_tests VECTORS_DIR

#include "test_util.h"

#include <cmath>
#include <cstdlib>

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
    std::printf("%zu vectors (%d valid, %zu faulty)\n", vectors.size(), good,
                vectors.size() - static_cast<std::size_t>(good));
    return c.Finish("vector_tests");
}
