public import SwitchboardCore
public enum ProviderKindCheck { public static let ok = true }
