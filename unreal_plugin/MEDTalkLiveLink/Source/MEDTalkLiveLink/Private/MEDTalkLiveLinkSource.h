// The MEDTalk Live Link source: receives the bridge's stream (docs/protocol.md) on its own thread
// and publishes one Live Link subject with the Basic role: 174 properties named after the
// face-board controls, one frame per received /medtalk/frame.

#pragma once

#include "CoreMinimal.h"
#include "HAL/CriticalSection.h"
#include "HAL/Runnable.h"
#include "ILiveLinkSource.h"
#include "LiveLinkTypes.h"

#include "MEDTalkReceiver.h"

#include <atomic>
#include <string>
#include <vector>

class FRunnableThread;
class ILiveLinkClient;
class UMEDTalkLiveLinkSourceSettings;

DECLARE_LOG_CATEGORY_EXTERN(LogMEDTalkLiveLink, Log, All);

class FMEDTalkLiveLinkSource : public ILiveLinkSource, public FRunnable, private medtalk::ReceiverListener
{
public:
	explicit FMEDTalkLiveLinkSource(const medtalk::ReceiverConfig& InConfig);
	virtual ~FMEDTalkLiveLinkSource() override;

	// ILiveLinkSource
	virtual void ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid) override;
	virtual void InitializeSettings(ULiveLinkSourceSettings* Settings) override;
	virtual bool IsSourceStillValid() const override;
	virtual bool RequestSourceShutdown() override;
	virtual FText GetSourceType() const override;
	virtual FText GetSourceMachineName() const override;
	virtual FText GetSourceStatus() const override;
	virtual TSubclassOf<ULiveLinkSourceSettings> GetSettingsClass() const override;
	virtual void OnSettingsChanged(ULiveLinkSourceSettings* Settings, const FPropertyChangedEvent& PropertyChangedEvent) override;

	// FRunnable: the receiver thread
	virtual uint32 Run() override;
	virtual void Stop() override;

private:
	// medtalk::ReceiverListener, on the receiver thread: names and frames become Live Link data.
	virtual void OnNames(const std::vector<std::string>& Names) override;
	virtual void OnFrame(const medtalk::Frame& Frame, double ArrivalSeconds) override;
	virtual void OnStatus(medtalk::ReceiverEvent Event, const std::string& Text) override;

	void UpdateStatus();

	const medtalk::ReceiverConfig Config;
	ILiveLinkClient* Client = nullptr;
	FLiveLinkSubjectKey SubjectKey;

	medtalk::Receiver Receiver;  // the receive loop (engine-free, MEDTalkReceiver.h); receiver thread only

	FRunnableThread* Thread = nullptr;
	std::atomic<bool> bStopping{false};

	mutable FCriticalSection StatusLock;
	FString StatusText;  // written by the receiver thread
	std::atomic<bool> bValid{true};  // false while the socket cannot be opened
};
