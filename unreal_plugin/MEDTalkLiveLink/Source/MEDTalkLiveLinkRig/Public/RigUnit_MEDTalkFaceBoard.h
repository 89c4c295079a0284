// "MEDTalk Face Board From Live Link": a Control Rig node that sets the MetaHuman face-board
// controls from a MEDTalk Live Link subject. The subject (Basic role) has one property per board
// channel, named "<control>-translateX" or "<control>-translateY" (e.g. CTRL_C_jaw-translateY):
// the node sets channel Y (or X) of the Vector2D control CTRL_C_jaw, or the value of a Float
// control. Place it at the start of the Forward Solve of a copy of Face_ControlBoard_CtrlRig; the
// board's own graph then turns the controls into the face's expression curves (docs/unreal.md).

#pragma once

#include "CoreMinimal.h"
#include "Rigs/RigHierarchyDefines.h"
#include "Units/RigUnit.h"

#include "RigUnit_MEDTalkFaceBoard.generated.h"

USTRUCT(meta = (DisplayName = "MEDTalk Face Board From Live Link", Category = "Live Link", Keywords = "MEDTalk,MetaHuman,Face Board", NodeColor = "0.3 0.1 0.1"))
struct MEDTALKLIVELINKRIG_API FRigUnit_MEDTalkFaceBoard : public FRigUnitMutable
{
	GENERATED_BODY()

	RIGVM_METHOD()
	virtual void Execute() override;

	/** The Live Link subject of the MEDTalk Live source (the bridge's --subject). */
	UPROPERTY(meta = (Input))
	FName SubjectName = TEXT("MEDTalk");

	/** 1: the streamed values replace the controls' values; 0: the controls keep theirs. */
	UPROPERTY(meta = (Input, ClampMin = 0.0, ClampMax = 1.0))
	float Weight = 1.f;

	/** Board channels set by this evaluation (0 while the subject has no valid frame). */
	UPROPERTY(meta = (Output))
	int32 NumChannelsSet = 0;

	/** Work state: the property names the two arrays below were built for. */
	UPROPERTY()
	TArray<FName> CachedPropertyNames;

	/** Work state, per property: the control it drives. */
	UPROPERTY()
	TArray<FRigElementKey> CachedControls;

	/** Work state, per property: 0 for translateX, 1 for translateY, -1 for anything else. */
	UPROPERTY()
	TArray<int32> CachedAxes;
};
