namespace Chat.Application.Common;

public enum ResultStatus
{
    Ok,
    Invalid,
    NotFound,
    Conflict,
    Unavailable,
}

/// <summary>A response type that can say "the request was invalid", so the validation behaviour can build one.</summary>
public interface IFailable<TSelf>
    where TSelf : IFailable<TSelf>
{
    static abstract TSelf Invalid(IReadOnlyList<string> errors);
}

/// <summary>The outcome of a use case: a value, or the reasons there is none. Errors are values until the edge.</summary>
public sealed class Result<T> : IFailable<Result<T>>
{
    internal Result(ResultStatus status, T? value, IReadOnlyList<string> errors)
    {
        Status = status;
        Value = value;
        Errors = errors;
    }

    public ResultStatus Status { get; }

    public T? Value { get; }

    public IReadOnlyList<string> Errors { get; }

    public bool IsOk => Status == ResultStatus.Ok;

    /// <summary>The first error, for transports that carry one line.</summary>
    public string Error => Errors.Count > 0 ? Errors[0] : string.Empty;

    static Result<T> IFailable<Result<T>>.Invalid(IReadOnlyList<string> errors) =>
        new(ResultStatus.Invalid, default, errors);
}

public static class Result
{
    public static Result<T> Ok<T>(T value) => new(ResultStatus.Ok, value, []);

    public static Result<T> NotFound<T>(string error) => new(ResultStatus.NotFound, default, [error]);

    public static Result<T> Conflict<T>(string error) => new(ResultStatus.Conflict, default, [error]);

    /// <summary>Something the use case depends on (the history store) failed; the request may succeed later.</summary>
    public static Result<T> Unavailable<T>(string error) => new(ResultStatus.Unavailable, default, [error]);
}
