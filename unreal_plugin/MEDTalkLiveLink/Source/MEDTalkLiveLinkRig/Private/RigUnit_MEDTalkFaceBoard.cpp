// The "MEDTalk Face Board From Live Link" Control Rig node (see RigUnit_MEDTalkFaceBoard.h).

#include "RigUnit_MEDTalkFaceBoard.h"

#include "Features/IModularFeatures.h"
#include "ILiveLinkClient.h"
#include "Roles/LiveLinkBasicRole.h"
#include "Rigs/RigHierarchy.h"
#include "Units/RigUnitContext.h"

#include UE_INLINE_GENERATED_CPP_BY_NAME(RigUnit_MEDTalkFaceBoard)

namespace MEDTalkFaceBoard
{
// "CTRL_C_jaw-translateY" -> (CTRL_C_jaw, 1); a name without "-translateX/Y" -> axis -1.
void Split(const FName& Property, FRigElementKey& OutControl, int32& OutAxis)
{
	const FString Text = Property.ToString();
	int32 Dash = INDEX_NONE;
	OutAxis = -1;
	if (Text.FindLastChar(TEXT('-'), Dash))
	{
		const FString Attribute = Text.Mid(Dash + 1);
		OutAxis = Attribute == TEXT("translateX") ? 0 : Attribute == TEXT("translateY") ? 1 : -1;
	}
	OutControl = FRigElementKey(OutAxis < 0 ? Property : FName(*Text.Left(Dash)), ERigElementType::Control);
}
}

FRigUnit_MEDTalkFaceBoard_Execute()
{
	NumChannelsSet = 0;
	URigHierarchy* Hierarchy = ExecuteContext.Hierarchy;
	IModularFeatures& Features = IModularFeatures::Get();
	if (Hierarchy == nullptr || !Features.IsModularFeatureAvailable(ILiveLinkClient::ModularFeatureName))
	{
		return;
	}
	ILiveLinkClient& Client = Features.GetModularFeature<ILiveLinkClient>(ILiveLinkClient::ModularFeatureName);
	FLiveLinkSubjectFrameData Frame;
	if (!Client.EvaluateFrame_AnyThread(FLiveLinkSubjectName(SubjectName), ULiveLinkBasicRole::StaticClass(), Frame))
	{
		return;  // no such subject, or no valid frame (e.g. stale): the controls keep their values
	}
	const FLiveLinkBaseStaticData* StaticData = Frame.StaticData.Cast<FLiveLinkBaseStaticData>();
	const FLiveLinkBaseFrameData* FrameData = Frame.FrameData.Cast<FLiveLinkBaseFrameData>();
	if (StaticData == nullptr || FrameData == nullptr || StaticData->PropertyNames.Num() != FrameData->PropertyValues.Num())
	{
		return;
	}
	if (CachedPropertyNames != StaticData->PropertyNames)
	{
		CachedPropertyNames = StaticData->PropertyNames;
		CachedControls.SetNum(CachedPropertyNames.Num());
		CachedAxes.SetNum(CachedPropertyNames.Num());
		for (int32 i = 0; i < CachedPropertyNames.Num(); ++i)
		{
			MEDTalkFaceBoard::Split(CachedPropertyNames[i], CachedControls[i], CachedAxes[i]);
		}
	}
	const float Alpha = FMath::Clamp(Weight, 0.f, 1.f);
	for (int32 i = 0; i < CachedControls.Num(); ++i)
	{
		FRigControlElement* Control = Hierarchy->Find<FRigControlElement>(CachedControls[i]);
		if (Control == nullptr)
		{
			continue;
		}
		const float Target = FrameData->PropertyValues[i];
		const FRigControlValue Current = Hierarchy->GetControlValue(CachedControls[i], ERigControlValueType::Current);
		switch (Control->Settings.ControlType)
		{
		case ERigControlType::Float:
		case ERigControlType::ScaleFloat:
			Hierarchy->SetControlValue(Control, FRigControlValue::Make<float>(FMath::Lerp(Current.Get<float>(), Target, Alpha)), ERigControlValueType::Current);
			++NumChannelsSet;
			break;
		case ERigControlType::Vector2D:
			if (CachedAxes[i] >= 0)
			{
				FVector3f Value = Current.Get<FVector3f>();  // Vector2D controls store (X, Y, 0)
				Value[CachedAxes[i]] = FMath::Lerp(Value[CachedAxes[i]], Target, Alpha);
				Hierarchy->SetControlValue(Control, FRigControlValue::Make<FVector3f>(Value), ERigControlValueType::Current);
				++NumChannelsSet;
			}
			break;
		default:
			break;  // the face board has only Float and Vector2D controls
		}
	}
}
