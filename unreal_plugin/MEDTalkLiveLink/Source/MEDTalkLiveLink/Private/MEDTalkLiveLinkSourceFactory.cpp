// The "MEDTalk Live" source factory of the Live Link panel (see MEDTalkLiveLinkSourceFactory.h).

#include "MEDTalkLiveLinkSourceFactory.h"

#include "MEDTalkLiveLinkSource.h"
#include "SMEDTalkLiveLinkSourcePanel.h"

#define LOCTEXT_NAMESPACE "MEDTalkLiveLink"

FText UMEDTalkLiveLinkSourceFactory::GetSourceDisplayName() const
{
	return LOCTEXT("SourceDisplayName", "MEDTalk Live");
}

FText UMEDTalkLiveLinkSourceFactory::GetSourceTooltip() const
{
	return LOCTEXT("SourceTooltip", "MetaHuman face-board controls at 60 fps from the MEDTalk Live bridge (medtalk stream), over OSC/UDP or ZeroMQ");
}

TSharedPtr<SWidget> UMEDTalkLiveLinkSourceFactory::BuildCreationPanel(FOnLiveLinkSourceCreated OnLiveLinkSourceCreated) const
{
	return SNew(SMEDTalkLiveLinkSourcePanel)
		.OnConfigured_Lambda([OnLiveLinkSourceCreated](const medtalk::ReceiverConfig& Config, const FString& ConnectionString)
		{
			OnLiveLinkSourceCreated.ExecuteIfBound(MakeShared<FMEDTalkLiveLinkSource>(Config), ConnectionString);
		});
}

TSharedPtr<ILiveLinkSource> UMEDTalkLiveLinkSourceFactory::CreateSource(const FString& ConnectionString) const
{
	medtalk::ReceiverConfig Config;
	std::string Error;
	if (!medtalk::ParseConnectionString(TCHAR_TO_UTF8(*ConnectionString), Config, Error))
	{
		UE_LOG(LogMEDTalkLiveLink, Error, TEXT("Connection string '%s': %s"), *ConnectionString, UTF8_TO_TCHAR(Error.c_str()));
		return nullptr;
	}
#if !WITH_MEDTALK_ZMQ
	if (Config.transport == medtalk::ReceiverConfig::Transport::Zmq)
	{
		UE_LOG(LogMEDTalkLiveLink, Error, TEXT("Connection string '%s': this build of the plugin has no ZeroMQ (see MEDTalkLiveLink.Build.cs)"), *ConnectionString);
		return nullptr;
	}
#endif
	return MakeShared<FMEDTalkLiveLinkSource>(Config);
}

#undef LOCTEXT_NAMESPACE
