//! `/api/v1/accounts/users/`: the tenant's users and their roles. Reads need `read`, changes `admin`.

use actix_web::{HttpResponse, delete, get, post, put, web};
use gov_facades::{NewUser, UserSort, UserUpdate};
use gov_model::{User, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{PageQuery, direction};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub user_id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    /// Any of `admin`, `operator`, `auditor`, `viewer`.
    pub roles: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        UserOut {
            user_id: u.id.to_string(),
            tenant_id: u.tenant_id.to_string(),
            email: u.email,
            name: u.name,
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            created_at: u.created_at,
            last_login: u.last_login,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RolesOut {
    pub user_id: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(value_type = crate::schema::Email)]
    pub email: String,
    #[schema(value_type = crate::schema::Text200)]
    pub name: String,
    /// Defaults to `["viewer"]`.
    #[serde(default)]
    #[schema(value_type = Vec<crate::schema::RoleName>)]
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(value_type = Option<crate::schema::Email>)]
    pub email: Option<String>,
    #[schema(value_type = Option<crate::schema::Text200>)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    #[schema(value_type = Vec<crate::schema::RoleName>)]
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    /// `created_at` (default), `email` or `name`.
    #[param(value_type = Option<crate::schema::UserSort>, inline)]
    pub sort: Option<String>,
    /// `asc` or `desc` (default).
    #[param(value_type = Option<crate::schema::Direction>, inline)]
    pub direction: Option<String>,
}

fn detail(user: User) -> Detail<UserOut> {
    Detail {
        entity: user.into(),
        actions: vec![
            Action::new("update", "Edit user", true),
            Action::new("set_roles", "Change roles", true),
            Action::new("delete", "Remove user", true),
        ],
    }
}

#[utoipa::path(operation_id = "list_users", tag = "accounts", params(UserListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<UserOut>), (status = 422, body = ErrorBody)))]
#[get("/accounts/users/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<UserListQuery>,
) -> ApiResult<web::Json<ListResponse<UserOut>>> {
    let page =
        PageQuery { page: query.page, page_size: query.page_size, cursor: query.cursor.clone() }.request()?;
    let sort_field = query.sort.as_deref().unwrap_or("created_at");
    let sort = match sort_field {
        "created_at" => UserSort::CreatedAt,
        "email" => UserSort::Email,
        "name" => UserSort::Name,
        other => return Err(ApiError::validation("sort", format!("cannot sort users by {other:?}"))),
    };
    let dir = direction(query.direction.as_deref())?;
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let users = blocking(move || gov.list_users(tenant, page, sort, dir)).await?;
    let applied = filters([]);
    Ok(web::Json(ListResponse::new(users, UserOut::from, applied, sort_field, dir)))
}

#[utoipa::path(operation_id = "create_user", tag = "accounts", request_body = CreateUser, security(("bearer" = [])),
    responses((status = 201, body = Detail<UserOut>), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/accounts/users/")]
pub async fn create(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let input = NewUser { email: body.email, name: body.name, roles: body.roles };
    let gov = state.gov.clone();
    let user = blocking(move || gov.create_user(&auth.caller, input)).await?;
    Ok(HttpResponse::Created().json(detail(user)))
}

#[utoipa::path(operation_id = "show_user", tag = "accounts", params(("user_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<UserOut>), (status = 404, body = ErrorBody)))]
#[get("/accounts/users/{user_id}")]
pub async fn show(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<UserId>,
) -> ApiResult<web::Json<Detail<UserOut>>> {
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let user = blocking(move || gov.get_user(auth.caller.tenant_id, id)).await?;
    Ok(web::Json(detail(user)))
}

#[utoipa::path(operation_id = "update_user", tag = "accounts", params(("user_id" = String, Path)), request_body = UpdateUser,
    security(("bearer" = [])),
    responses((status = 200, body = Detail<UserOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/accounts/users/{user_id}")]
pub async fn update(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<UserId>,
    body: web::Json<UpdateUser>,
) -> ApiResult<web::Json<Detail<UserOut>>> {
    let body = body.into_inner();
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let update = UserUpdate { email: body.email, name: body.name };
    let user = blocking(move || gov.update_user(&auth.caller, id, update)).await?;
    Ok(web::Json(detail(user)))
}

#[utoipa::path(operation_id = "delete_user", tag = "accounts", params(("user_id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/accounts/users/{user_id}")]
pub async fn remove(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<UserId>,
) -> ApiResult<HttpResponse> {
    let (gov, id) = (state.gov.clone(), path.into_inner());
    blocking(move || gov.delete_user(&auth.caller, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(operation_id = "show_user_roles", tag = "accounts", params(("user_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = RolesOut), (status = 404, body = ErrorBody)))]
#[get("/accounts/users/{user_id}/roles")]
pub async fn get_roles(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<UserId>,
) -> ApiResult<web::Json<RolesOut>> {
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let user = blocking(move || gov.get_user(auth.caller.tenant_id, id)).await?;
    let out = UserOut::from(user);
    Ok(web::Json(RolesOut { user_id: out.user_id, roles: out.roles }))
}

/// Replaces the user's roles.
#[utoipa::path(operation_id = "set_user_roles", tag = "accounts", params(("user_id" = String, Path)), request_body = SetRoles,
    security(("bearer" = [])),
    responses((status = 200, body = RolesOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/accounts/users/{user_id}/roles")]
pub async fn set_roles(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<UserId>,
    body: web::Json<SetRoles>,
) -> ApiResult<web::Json<RolesOut>> {
    let (gov, id, wanted) = (state.gov.clone(), path.into_inner(), body.into_inner().roles);
    let user = blocking(move || gov.set_user_roles(&auth.caller, id, &wanted)).await?;
    let out = UserOut::from(user);
    Ok(web::Json(RolesOut { user_id: out.user_id, roles: out.roles }))
}
