//! Runs synchronous use-case code (diesel) off the async workers, inside the request's span.

use gov_facades::Error as FacadeError;

use crate::error::ApiError;

pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, FacadeError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    let joined = actix_web::web::block(move || span.in_scope(f)).await;
    match joined {
        Ok(result) => result.map_err(ApiError::from),
        Err(_) => Err(FacadeError::Internal("blocking task failed".into()).into()),
    }
}
