// Per-source settings of the MEDTalk Live Link source, shown in the Live Link panel when the source
// is selected and saved in Live Link presets with the connection string.

#pragma once

#include "CoreMinimal.h"
#include "LiveLinkSourceSettings.h"

#include "MEDTalkLiveLinkSourceSettings.generated.h"

UCLASS()
class MEDTALKLIVELINK_API UMEDTalkLiveLinkSourceSettings : public ULiveLinkSourceSettings
{
	GENERATED_BODY()

public:
	/**
	 * Seconds without a frame after which the subject is stale: its buffered frames are cleared
	 * (Live Link then reports it as not valid and a Live Link Pose node passes its input pose
	 * through) until frames arrive again. The bridge sends 60 frames per second.
	 */
	UPROPERTY(EditAnywhere, Category = "MEDTalk", meta = (ForceUnits = s, ClampMin = 0.05, ClampMax = 60.0))
	float StaleAfterSeconds = 0.5f;
};
