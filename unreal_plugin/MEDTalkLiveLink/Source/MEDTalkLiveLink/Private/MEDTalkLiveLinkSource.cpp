// The MEDTalk Live Link source (see MEDTalkLiveLinkSource.h). Packet decoding and the stream
// bookkeeping are engine-free (MEDTalkPacket.{h,cpp}, tested by unreal_plugin/tests/run.sh); this
// file only moves bytes from a socket to them and their results to Live Link.

#include "MEDTalkLiveLinkSource.h"

#include "Common/UdpSocketBuilder.h"
#include "HAL/PlatformProcess.h"
#include "HAL/PlatformTime.h"
#include "HAL/RunnableThread.h"
#include "ILiveLinkClient.h"
#include "Interfaces/IPv4/IPv4Address.h"
#include "MEDTalkLiveLinkSourceSettings.h"
#include "Misc/FrameRate.h"
#include "Misc/QualifiedFrameTime.h"
#include "Roles/LiveLinkBasicRole.h"
#include "Sockets.h"
#include "SocketSubsystem.h"

#if WITH_MEDTALK_ZMQ
#include <zmq.h>
#endif

#define LOCTEXT_NAMESPACE "MEDTalkLiveLink"

DEFINE_LOG_CATEGORY(LogMEDTalkLiveLink);

namespace MEDTalkLiveLinkSource
{
constexpr double PollSeconds = 0.1;          // longest wait for a packet: bounds shutdown time
constexpr double ReopenSeconds = 2.0;        // retry period when the socket cannot be opened
constexpr int32 ReceiveBufferBytes = 1 << 22;
constexpr int32 MaxZmqParts = 8;             // a message with more parts is rejected
}

FMEDTalkLiveLinkSource::FMEDTalkLiveLinkSource(const medtalk::ReceiverConfig& InConfig)
	: Config(InConfig)
	, Tracker(0.5)
{
	Buffer.SetNumUninitialized(static_cast<int32>(medtalk::kDatagramBytes));
	StatusText = TEXT("Starting");
}

FMEDTalkLiveLinkSource::~FMEDTalkLiveLinkSource()
{
	RequestSourceShutdown();
}

void FMEDTalkLiveLinkSource::ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid)
{
	Client = InClient;
	SubjectKey = FLiveLinkSubjectKey(InSourceGuid, FName(UTF8_TO_TCHAR(Config.subject.c_str())));
	Thread = FRunnableThread::Create(this, TEXT("MEDTalkLiveLinkReceiver"), 0, TPri_AboveNormal);
}

void FMEDTalkLiveLinkSource::InitializeSettings(ULiveLinkSourceSettings* Settings)
{
	if (const UMEDTalkLiveLinkSourceSettings* Ours = Cast<UMEDTalkLiveLinkSourceSettings>(Settings))
	{
		StaleAfterSeconds = Ours->StaleAfterSeconds;
	}
}

void FMEDTalkLiveLinkSource::OnSettingsChanged(ULiveLinkSourceSettings* Settings, const FPropertyChangedEvent& PropertyChangedEvent)
{
	InitializeSettings(Settings);
}

TSubclassOf<ULiveLinkSourceSettings> FMEDTalkLiveLinkSource::GetSettingsClass() const
{
	return UMEDTalkLiveLinkSourceSettings::StaticClass();
}

bool FMEDTalkLiveLinkSource::IsSourceStillValid() const
{
	return bValid && !bStopping;
}

bool FMEDTalkLiveLinkSource::RequestSourceShutdown()
{
	Stop();
	if (Thread != nullptr)
	{
		Thread->WaitForCompletion();  // the loop checks bStopping at least every PollSeconds
		delete Thread;
		Thread = nullptr;
	}
	return true;
}

void FMEDTalkLiveLinkSource::Stop()
{
	bStopping = true;
}

FText FMEDTalkLiveLinkSource::GetSourceType() const
{
	return Config.transport == medtalk::ReceiverConfig::Transport::Zmq
		? LOCTEXT("TypeZmq", "MEDTalk Live (ZeroMQ)")
		: LOCTEXT("TypeOsc", "MEDTalk Live (OSC)");
}

FString FMEDTalkLiveLinkSource::Address() const
{
	return Config.transport == medtalk::ReceiverConfig::Transport::Zmq
		? FString(UTF8_TO_TCHAR(Config.endpoint.c_str()))
		: FString::Printf(TEXT("udp://%s:%d"), UTF8_TO_TCHAR(Config.bind.c_str()), Config.port);
}

FText FMEDTalkLiveLinkSource::GetSourceMachineName() const
{
	return FText::FromString(Address());
}

FText FMEDTalkLiveLinkSource::GetSourceStatus() const
{
	FScopeLock Lock(&StatusLock);
	return FText::FromString(StatusText);
}

uint32 FMEDTalkLiveLinkSource::Run()
{
	double NextOpen = 0.0;
	while (!bStopping)
	{
		const double Now = FPlatformTime::Seconds();
		if (!bTransportOpen)
		{
			if (Now >= NextOpen && !OpenTransport())
			{
				NextOpen = Now + MEDTalkLiveLinkSource::ReopenSeconds;
			}
			if (!bTransportOpen)
			{
				UpdateStatus(Now);
				FPlatformProcess::Sleep(static_cast<float>(MEDTalkLiveLinkSource::PollSeconds));
				continue;
			}
		}
		if (Config.transport == medtalk::ReceiverConfig::Transport::Osc)
		{
			ReceiveOsc();
		}
		else
		{
			ReceiveZmq();
		}
		const double After = FPlatformTime::Seconds();
		CheckSilence(After);
		UpdateStatus(After);
	}
	CloseTransport();
	return 0;
}

bool FMEDTalkLiveLinkSource::OpenTransport()
{
	if (Config.transport == medtalk::ReceiverConfig::Transport::Osc)
	{
		FIPv4Address Address;
		if (!FIPv4Address::Parse(FString(UTF8_TO_TCHAR(Config.bind.c_str())), Address))
		{
			TransportError = TEXT("bad bind address");
			bValid = false;
			return false;
		}
		Socket = FUdpSocketBuilder(TEXT("MEDTalkLiveLink"))
			.AsNonBlocking()
			.BoundToAddress(Address)
			.BoundToPort(static_cast<uint16>(Config.port))
			.WithReceiveBufferSize(MEDTalkLiveLinkSource::ReceiveBufferBytes)
			.Build();
		if (Socket == nullptr)
		{
			TransportError = FString::Printf(TEXT("cannot bind udp://%s:%d (in use?)"),
				UTF8_TO_TCHAR(Config.bind.c_str()), Config.port);
			bValid = false;
			return false;
		}
	}
	else
	{
#if WITH_MEDTALK_ZMQ
		ZmqContext = zmq_ctx_new();
		ZmqSocket = ZmqContext ? zmq_socket(ZmqContext, ZMQ_SUB) : nullptr;
		const int TimeoutMs = static_cast<int>(MEDTalkLiveLinkSource::PollSeconds * 1000);
		const int LingerMs = 0;
		if (ZmqSocket == nullptr
			|| zmq_setsockopt(ZmqSocket, ZMQ_SUBSCRIBE, "", 0) != 0
			|| zmq_setsockopt(ZmqSocket, ZMQ_RCVTIMEO, &TimeoutMs, sizeof TimeoutMs) != 0
			|| zmq_setsockopt(ZmqSocket, ZMQ_LINGER, &LingerMs, sizeof LingerMs) != 0
			|| zmq_connect(ZmqSocket, Config.endpoint.c_str()) != 0)
		{
			TransportError = FString::Printf(TEXT("cannot connect %s: %s"),
				UTF8_TO_TCHAR(Config.endpoint.c_str()), UTF8_TO_TCHAR(zmq_strerror(zmq_errno())));
			CloseTransport();
			bValid = false;
			return false;
		}
#else
		TransportError = TEXT("this build has no ZeroMQ (see MEDTalkLiveLink.Build.cs)");
		bValid = false;
		return false;
#endif
	}
	TransportError.Reset();
	bTransportOpen = true;
	bValid = true;
	UE_LOG(LogMEDTalkLiveLink, Log, TEXT("Listening on %s for subject %s"),
		*Address(), UTF8_TO_TCHAR(Config.subject.c_str()));
	return true;
}

void FMEDTalkLiveLinkSource::CloseTransport()
{
	if (Socket != nullptr)
	{
		Socket->Close();
		ISocketSubsystem::Get(PLATFORM_SOCKETSUBSYSTEM)->DestroySocket(Socket);
		Socket = nullptr;
	}
#if WITH_MEDTALK_ZMQ
	if (ZmqSocket != nullptr)
	{
		zmq_close(ZmqSocket);
		ZmqSocket = nullptr;
	}
	if (ZmqContext != nullptr)
	{
		zmq_ctx_term(ZmqContext);
		ZmqContext = nullptr;
	}
#endif
	bTransportOpen = false;
}

void FMEDTalkLiveLinkSource::ReceiveOsc()
{
	if (!Socket->Wait(ESocketWaitConditions::WaitForRead, FTimespan::FromSeconds(MEDTalkLiveLinkSource::PollSeconds)))
	{
		return;
	}
	uint32 Pending = 0;
	while (!bStopping && Socket->HasPendingData(Pending))
	{
		int32 Read = 0;
		if (!Socket->Recv(Buffer.GetData(), Buffer.Num(), Read) || Read <= 0)
		{
			return;
		}
		const std::uint8_t* Data = Buffer.GetData();
		const std::size_t Size = static_cast<std::size_t>(Read);
		switch (medtalk::ClassifyOsc(Data, Size))
		{
		case medtalk::OscKind::Frame:
		{
			medtalk::Frame Frame;
			const medtalk::Status Result = medtalk::DecodeOscFrame(Data, Size, Frame);
			Result == medtalk::Status::Ok ? HandleFrame(Frame) : Reject(Result);
			break;
		}
		case medtalk::OscKind::Names:
		{
			medtalk::Names Names;
			const medtalk::Status Result = medtalk::DecodeOscNames(Data, Size, Names);
			Result == medtalk::Status::Ok ? HandleNames(Names) : Reject(Result);
			break;
		}
		case medtalk::OscKind::Unknown:
			break;  // another message of the bridge (e.g. a live stream's /medtalk/state)
		}
	}
}

void FMEDTalkLiveLinkSource::ReceiveZmq()
{
#if WITH_MEDTALK_ZMQ
	zmq_msg_t Messages[MEDTalkLiveLinkSource::MaxZmqParts];
	zmq_msg_t Extra;  // parts beyond MaxZmqParts are received here and dropped
	int32 Count = 0;
	bool bMore = true;
	bool bTooMany = false;
	while (bMore)
	{
		zmq_msg_t& Message = Count < MEDTalkLiveLinkSource::MaxZmqParts ? Messages[Count] : Extra;
		zmq_msg_init(&Message);
		if (zmq_msg_recv(&Message, ZmqSocket, 0) < 0)  // times out after PollSeconds
		{
			zmq_msg_close(&Message);
			break;  // ZeroMQ delivers a multipart message whole or not at all
		}
		bMore = zmq_msg_more(&Message) != 0;
		if (&Message == &Extra)
		{
			bTooMany = true;
			zmq_msg_close(&Extra);
		}
		else
		{
			++Count;
		}
	}
	if (bTooMany)
	{
		Reject(medtalk::Status::WrongPartCount);
	}
	else if (Count > 0 && !bMore)
	{
		medtalk::Part Parts[MEDTalkLiveLinkSource::MaxZmqParts];
		for (int32 i = 0; i < Count; ++i)
		{
			Parts[i] = medtalk::Part{static_cast<const std::uint8_t*>(zmq_msg_data(&Messages[i])), zmq_msg_size(&Messages[i])};
		}
		const std::size_t N = static_cast<std::size_t>(Count);
		const auto TopicIs = [&Parts](const char* Topic) { return Parts[0].size == 5 && FMemory::Memcmp(Parts[0].data, Topic, 5) == 0; };
		if (TopicIs("names"))
		{
			medtalk::Names Names;
			const medtalk::Status Result = medtalk::DecodeZmqNames(Parts, N, Names);
			Result == medtalk::Status::Ok ? HandleNames(Names) : Reject(Result);
		}
		else if (TopicIs("frame"))
		{
			medtalk::Frame Frame;
			const medtalk::Status Result = medtalk::DecodeZmqFrame(Parts, N, Frame);
			Result == medtalk::Status::Ok ? HandleFrame(Frame) : Reject(Result);
		}
		// Other topics are ignored (subscribing to "" receives everything the bridge publishes).
	}
	for (int32 i = 0; i < Count; ++i)
	{
		zmq_msg_close(&Messages[i]);
	}
#endif
}

void FMEDTalkLiveLinkSource::Reject(medtalk::Status Status)
{
	++RejectedPackets;
	const uint32 Bit = 1u << static_cast<uint32>(Status);
	if ((LoggedStatuses & Bit) == 0)
	{
		LoggedStatuses |= Bit;
		UE_LOG(LogMEDTalkLiveLink, Warning, TEXT("Rejected a packet on %s: %s (further packets rejected for this reason are only counted)"),
			*Address(), UTF8_TO_TCHAR(medtalk::StatusName(Status)));
	}
}

void FMEDTalkLiveLinkSource::HandleNames(const medtalk::Names& Names)
{
	// OSC names carry the subject; ZeroMQ names (empty subject) belong to the stream's subject.
	if (!Names.subject.empty() && Names.subject != Config.subject)
	{
		return;
	}
	if (Tracker.UpdateNames(Names.names))
	{
		UE_LOG(LogMEDTalkLiveLink, Log, TEXT("Subject %s: new property names received"), *SubjectKey.SubjectName.ToString());
	}
	PushStaticDataIfDue();
}

void FMEDTalkLiveLinkSource::PushStaticDataIfDue()
{
	if (!Tracker.TakeStaticDataDue())
	{
		return;
	}
	FLiveLinkStaticDataStruct StaticData(FLiveLinkBaseStaticData::StaticStruct());
	FLiveLinkBaseStaticData& Base = *StaticData.Cast<FLiveLinkBaseStaticData>();
	Base.PropertyNames.Reserve(static_cast<int32>(Tracker.PropertyNames().size()));
	for (const std::string& Name : Tracker.PropertyNames())
	{
		Base.PropertyNames.Add(FName(UTF8_TO_TCHAR(Name.c_str())));
	}
	Client->PushSubjectStaticData_AnyThread(SubjectKey, ULiveLinkBasicRole::StaticClass(), MoveTemp(StaticData));
}

void FMEDTalkLiveLinkSource::HandleFrame(const medtalk::Frame& Frame)
{
	if (Frame.subject != Config.subject)
	{
		++OtherSubjectFrames;
		OtherSubject = UTF8_TO_TCHAR(Frame.subject.c_str());
		return;
	}
	const double Now = FPlatformTime::Seconds();
	const medtalk::StreamTracker::Verdict Verdict = Tracker.OnFrame(Frame.index, Now);
	if (!Verdict.accept)
	{
		return;  // a duplicate or a late datagram: Live Link orders frames by arrival time
	}
	if (Verdict.restarted)
	{
		UE_LOG(LogMEDTalkLiveLink, Log, TEXT("Subject %s: stream starts at frame %d"), *SubjectKey.SubjectName.ToString(), Frame.index);
	}
	bStale = false;
	PushStaticDataIfDue();

	FLiveLinkFrameDataStruct FrameData(FLiveLinkBaseFrameData::StaticStruct());
	FLiveLinkBaseFrameData& Data = *FrameData.Cast<FLiveLinkBaseFrameData>();
	Data.WorldTime = FLiveLinkWorldTime(Now);
	Data.MetaData.SceneTime = FQualifiedFrameTime(FFrameTime(FFrameNumber(Frame.index)), FFrameRate(medtalk::kFps, 1));
	Data.PropertyValues.Append(Frame.values, medtalk::kNumControls);
	Client->PushSubjectFrameData_AnyThread(SubjectKey, MoveTemp(FrameData));
}

void FMEDTalkLiveLinkSource::CheckSilence(double Now)
{
	Tracker.stale_after_s = StaleAfterSeconds.load();
	if (!bStale && Tracker.IsStale(Now))
	{
		bStale = true;
		Client->ClearSubjectsFrames_AnyThread(SubjectKey);
		UE_LOG(LogMEDTalkLiveLink, Log, TEXT("Subject %s: no frame for %.1f s, frames cleared (stale)"),
			*SubjectKey.SubjectName.ToString(), Tracker.SecondsSinceLastFrame(Now));
	}
}

void FMEDTalkLiveLinkSource::UpdateStatus(double Now)
{
	// A plain string: FText is made on the game thread, in GetSourceStatus.
	FString Text;
	if (!TransportError.IsEmpty())
	{
		Text = FString::Printf(TEXT("Error: %s; retrying"), *TransportError);
	}
	else if (!Tracker.HasFrames())
	{
		Text = OtherSubjectFrames > 0
			? FString::Printf(TEXT("Waiting: frames are for subject '%s'"), *OtherSubject)
			: FString(TEXT("Waiting for the bridge"));
	}
	else if (bStale)
	{
		Text = FString::Printf(TEXT("Stale: no frame for %.0f s"), Tracker.SecondsSinceLastFrame(Now));
	}
	else
	{
		Text = FString::Printf(TEXT("Receiving (%llu frames, %llu lost, %llu rejected)"),
			static_cast<unsigned long long>(Tracker.frames_accepted),
			static_cast<unsigned long long>(Tracker.frames_lost),
			static_cast<unsigned long long>(RejectedPackets));
	}
	FScopeLock Lock(&StatusLock);
	StatusText = MoveTemp(Text);
}

#undef LOCTEXT_NAMESPACE
