// A MEDTalk Live receiver's bookkeeping for one subject (see MEDTalkStreamTracker.h).

#include "MEDTalkStreamTracker.h"

#include "MEDTalkNames.h"

namespace medtalk
{
StreamTracker::StreamTracker(double stale_after) : stale_after_s(stale_after)
{
    names_.assign(kControlNames, kControlNames + kNumControls);
}

bool StreamTracker::UpdateNames(const std::vector<std::string>& names)
{
    if (names == names_)
    {
        return false;
    }
    names_ = names;
    static_due_ = true;
    return true;
}

bool StreamTracker::TakeStaticDataDue()
{
    const bool due = static_due_;
    static_due_ = false;
    return due;
}

StreamTracker::Verdict StreamTracker::OnFrame(std::int32_t index, double now_s)
{
    Verdict verdict;
    if (!has_frames_)
    {
        verdict.restarted = true;
    }
    else if (now_s - last_arrival_s_ > kRestartSilenceS || index < last_index_ - kRestartIndexJump)
    {
        verdict.restarted = true;  // the bridge restarted (or the stream paused): a new stream
        ++restarts;
    }
    else if (index > last_index_)
    {
        verdict.lost = static_cast<std::uint32_t>(index - last_index_ - 1);
    }
    else
    {
        ++frames_dropped;  // a duplicate, or a datagram overtaken by a later one
        return verdict;
    }
    verdict.accept = true;
    has_frames_ = true;
    last_index_ = index;
    last_arrival_s_ = now_s;
    ++frames_accepted;
    frames_lost += verdict.lost;
    return verdict;
}

bool StreamTracker::IsStale(double now_s) const
{
    return has_frames_ && now_s - last_arrival_s_ > stale_after_s;
}

}  // namespace medtalk
